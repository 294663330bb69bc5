"""The pluggy plugin manager that finds source and destination packages through entry points."""

from __future__ import annotations

import os
from functools import cache

import pluggy

from floe_ingestion_dlt import hookspecs
from floe_ingestion_dlt.errors import PipelineConfigurationError, SourceNotInstalledError
from floe_ingestion_dlt.types import DestinationType, SourceType

__all__ = [
    "DESTINATIONS_GROUP",
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


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    """Load the installed source and destination packages once per process."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    only = os.environ.get(PLUGINS_ENV)
    for group in (SOURCES_GROUP, DESTINATIONS_GROUP):
        if only is None:
            manager.load_setuptools_entrypoints(group)
        else:
            for name in filter(None, (n.strip() for n in only.split(","))):
                manager.load_setuptools_entrypoints(group, name)
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
        raise SourceNotInstalledError(name, list(available))
    return available[name]


def get_destination_type(name: str = "iceberg") -> DestinationType:
    available = destination_types()
    if name not in available:
        raise PipelineConfigurationError(
            f"destination {name!r} is not installed: pip install floe-dlt-destination-{name}"
        )
    return available[name]
