"""Registers the Iceberg destination with the dlt plugin."""

from __future__ import annotations

from collections.abc import Callable

from floe_ingestion_dlt.hookspecs import hookimpl
from floe_ingestion_dlt.types import DestinationType

from floe_dlt_destination_iceberg.destination import IcebergDestination


@hookimpl
def register_destinations(register: Callable[[DestinationType], None]) -> None:
    register(IcebergDestination())
