"""The hooks source and destination packages implement. Keep them few and stable."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from floe_ingestion_dlt.types import DestinationType, SourceType

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "floe_dlt"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_source_types(register: Callable[[SourceType], None]) -> None:
    """Register the source types (``type:`` values in floe.yaml) this package provides."""


@hookspec
def register_destinations(register: Callable[[DestinationType], None]) -> None:
    """Register the destinations this package provides."""
