"""Dagster assets of floe."""
