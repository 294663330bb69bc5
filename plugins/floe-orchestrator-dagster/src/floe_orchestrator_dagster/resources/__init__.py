"""Dagster resources of floe."""
