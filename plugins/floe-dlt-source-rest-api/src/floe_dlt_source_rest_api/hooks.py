"""Registers the ``rest_api`` source type with the dlt plugin."""

from __future__ import annotations

from collections.abc import Callable

from floe_ingestion_dlt.hookspecs import hookimpl
from floe_ingestion_dlt.types import SourceType

from floe_dlt_source_rest_api.source import RestApiSource


@hookimpl
def register_source_types(register: Callable[[SourceType], None]) -> None:
    register(RestApiSource())
