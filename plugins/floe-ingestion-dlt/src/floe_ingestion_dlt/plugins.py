"""The pluggy plugin manager that finds source and destination packages through entry points."""

from __future__ import annotations

import os
from functools import cache
from importlib.metadata import entry_points
from typing import Any

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
def _manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    return manager


def _load(group: str, name: str | None = None) -> pluggy.PluginManager:
    """Register the group's entry points (only the one called ``name``, when given) that are
    not registered yet, and return the manager.

    A package that fails to import is recorded in :data:`LOAD_FAILURES` and logged; it never
    keeps the others from loading.
    """
    manager = _manager()
    only = os.environ.get(PLUGINS_ENV)
    allowed = None if only is None else {n.strip() for n in only.split(",") if n.strip()}
    for ep in entry_points(group=group):
        if name is not None and ep.name != name:
            continue
        if (allowed is not None and ep.name not in allowed) or manager.has_plugin(ep.name):
            continue
        if (group, ep.name) in LOAD_FAILURES:
            continue
        try:
            manager.register(ep.load(), name=ep.name)
        except Exception as exc:
            LOAD_FAILURES[(group, ep.name)] = f"{type(exc).__name__}: {exc}"
            get_logger().warning("plugin_load_failed", group=group, plugin=ep.name, error=str(exc))
    return manager


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    """Load every installed source and destination package, once per process."""
    _load(SOURCES_GROUP)
    return _load(DESTINATIONS_GROUP)


#: Every type registered so far, by group and name: the first registration of a name is the one
#: used everywhere in the process.
_FOUND: dict[str, dict[str, Any]] = {SOURCES_GROUP: {}, DESTINATIONS_GROUP: {}}


def _collect(group: str, manager: pluggy.PluginManager) -> dict[str, Any]:
    found = _FOUND[group]
    if group == SOURCES_GROUP:
        manager.hook.register_source_types(register=lambda s: found.setdefault(s.name, s))
    else:
        manager.hook.register_destinations(register=lambda d: found.setdefault(d.name, d))
    return found


@cache
def source_types() -> dict[str, SourceType]:
    return dict(_collect(SOURCES_GROUP, get_plugin_manager()))


@cache
def destination_types() -> dict[str, DestinationType]:
    return dict(_collect(DESTINATIONS_GROUP, get_plugin_manager()))


def _named(group: str, name: str) -> Any:
    """The type ``name`` from the entry point of the same name alone, when it registers it: a
    run imports only the plugins it uses (a package's entry point is named after its type)."""
    if name not in _FOUND[group]:
        _collect(group, _load(group, name))
    return _FOUND[group].get(name)


def get_source_type(name: str) -> SourceType:
    named = _named(SOURCES_GROUP, name)
    if isinstance(named, SourceType):
        return named
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
    named = _named(DESTINATIONS_GROUP, name)
    if isinstance(named, DestinationType):
        return named
    available = destination_types()
    if name not in available:
        raise PipelineConfigurationError(
            f"destination {name!r} is not installed: pip install floe-dlt-destination-{name}"
        )
    return available[name]
