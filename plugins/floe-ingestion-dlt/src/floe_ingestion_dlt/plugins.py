"""The pluggy plugin manager that finds source and destination packages through entry points."""

from __future__ import annotations

import os
from functools import cache
from importlib.metadata import entry_points

import pluggy

from floe_ingestion_dlt import hookspecs
from floe_ingestion_dlt.errors import PipelineConfigurationError, SourceNotInstalledError
from floe_ingestion_dlt.observability import get_logger
from floe_ingestion_dlt.types import DestinationType, SourceType

__all__ = [
    "DESTINATIONS_GROUP",
    "LOAD_FAILURES",
    "PLUGINS_ENV",
    "SOURCES_GROUP",
    "destination_types",
    "get_destination_type",
    "get_plugin_manager",
    "get_source_type",
    "source_types",
]

SOURCES_GROUP = "floe.dlt_sources"
DESTINATIONS_GROUP = "floe.dlt_destinations"
#: Comma-separated entry-point names to load; unset loads every installed plugin.
PLUGINS_ENV = "FLOE_DLT_PLUGINS"


#: Entry points that failed to import: ``(group, name) -> "ErrorType: message"``.
LOAD_FAILURES: dict[tuple[str, str], str] = {}


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    """Load the installed source and destination packages once per process.

    A package that fails to import is recorded in :data:`LOAD_FAILURES` and logged; it never
    keeps the others from loading.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    only = os.environ.get(PLUGINS_ENV)
    allowed = None if only is None else {n.strip() for n in only.split(",") if n.strip()}
    for group in (SOURCES_GROUP, DESTINATIONS_GROUP):
        for ep in entry_points(group=group):
            if (allowed is not None and ep.name not in allowed) or manager.has_plugin(ep.name):
                continue
            try:
                manager.register(ep.load(), name=ep.name)
            except Exception as exc:
                LOAD_FAILURES[(group, ep.name)] = f"{type(exc).__name__}: {exc}"
                get_logger().warning(
                    "plugin_load_failed", group=group, plugin=ep.name, error=str(exc)
                )
    return manager


@cache
def source_types() -> dict[str, SourceType]:
    found: dict[str, SourceType] = {}
    get_plugin_manager().hook.register_source_types(register=lambda s: found.setdefault(s.name, s))
    return found


@cache
def destination_types() -> dict[str, DestinationType]:
    found: dict[str, DestinationType] = {}
    get_plugin_manager().hook.register_destinations(register=lambda d: found.setdefault(d.name, d))
    return found


def get_source_type(name: str) -> SourceType:
    available = source_types()
    if name not in available:
        failure = LOAD_FAILURES.get((SOURCES_GROUP, name))
        if failure:
            raise PipelineConfigurationError(
                f"source type {name!r} is installed but failed to load: {failure}",
                source_type=name,
            )
        raise SourceNotInstalledError(name, list(available))
    return available[name]


def get_destination_type(name: str = "iceberg") -> DestinationType:
    available = destination_types()
    if name not in available:
        raise PipelineConfigurationError(
            f"destination {name!r} is not installed: pip install floe-dlt-destination-{name}"
        )
    return available[name]
