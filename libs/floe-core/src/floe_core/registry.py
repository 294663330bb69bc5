"""Finding and loading plugins through ``importlib.metadata`` entry points."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import BaseModel, ValidationError

from floe_core.errors import (
    DuplicatePluginError,
    PluginConfigurationError,
    PluginIncompatibleError,
    PluginLoadError,
    PluginNotFoundError,
)
from floe_core.plugin_metadata import PluginMetadata
from floe_core.plugin_types import FLOE_API_VERSION, PluginType

__all__ = [
    "DiscoveredPlugin",
    "PluginDiscovery",
    "PluginLoader",
    "PluginRegistry",
    "check_api_version",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DiscoveredPlugin:
    """An entry point found for a plugin type, not yet imported."""

    type: PluginType
    name: str
    value: str
    distribution: str
    distribution_version: str
    entry_point: EntryPoint

    @property
    def module(self) -> str:
        return self.value.split(":", 1)[0]


def _parse_api(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


def check_api_version(name: str, plugin_api: str, platform_api: str = FLOE_API_VERSION) -> None:
    """Same major version, and a plugin minor no newer than the platform's."""
    try:
        plugin_major, plugin_minor = _parse_api(plugin_api)
        major, minor = _parse_api(platform_api)
    except ValueError:
        raise PluginIncompatibleError(name, plugin_api, platform_api) from None
    if plugin_major != major or plugin_minor > minor:
        raise PluginIncompatibleError(name, plugin_api, platform_api)


class PluginDiscovery:
    """Lists the entry points of every plugin type without importing any plugin."""

    def __init__(self) -> None:
        self._found: dict[PluginType, dict[str, list[DiscoveredPlugin]]] | None = None

    def discover_all(self) -> dict[PluginType, dict[str, list[DiscoveredPlugin]]]:
        if self._found is None:
            found: dict[PluginType, dict[str, list[DiscoveredPlugin]]] = {t: {} for t in PluginType}
            for plugin_type in PluginType:
                for ep in entry_points(group=plugin_type.value):
                    dist = ep.dist
                    item = DiscoveredPlugin(
                        type=plugin_type,
                        name=ep.name,
                        value=ep.value,
                        distribution=dist.name if dist else "<unknown>",
                        distribution_version=dist.version if dist else "",
                        entry_point=ep,
                    )
                    same = found[plugin_type].setdefault(ep.name, [])
                    if all(
                        (p.value, p.distribution) != (item.value, item.distribution) for p in same
                    ):
                        same.append(item)
            self._found = found
        return self._found

    def names(self, plugin_type: PluginType) -> list[str]:
        return sorted(self.discover_all()[plugin_type])

    def find(self, plugin_type: PluginType, name: str) -> DiscoveredPlugin:
        candidates = self.discover_all()[plugin_type].get(name, [])
        if not candidates:
            raise PluginNotFoundError(plugin_type, name, self.names(plugin_type))
        if len(candidates) > 1:
            raise DuplicatePluginError(plugin_type, name, [c.distribution for c in candidates])
        return candidates[0]


class PluginLoader:
    """Imports, checks and instantiates plugins; a broken plugin never hides the others."""

    def __init__(self, discovery: PluginDiscovery | None = None) -> None:
        self.discovery = discovery or PluginDiscovery()
        self._instances: dict[tuple[PluginType, str], PluginMetadata] = {}
        self.failures: dict[tuple[PluginType, str], str] = {}

    def get(self, plugin_type: PluginType, name: str) -> PluginMetadata:
        key = (plugin_type, name)
        if key not in self._instances:
            found = self.discovery.find(plugin_type, name)
            try:
                plugin_class = found.entry_point.load()
                instance = plugin_class()
            except Exception as exc:
                self.failures[key] = f"{type(exc).__name__}: {exc}"
                _log.warning("plugin %s %r failed to load: %s", plugin_type.short_name, name, exc)
                raise PluginLoadError(
                    f"{plugin_type.short_name} plugin {name!r} from {found.distribution} "
                    f"failed to load: {type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(instance, PluginMetadata):
                raise PluginLoadError(
                    f"{plugin_type.short_name} plugin {name!r} ({found.value}) does not "
                    "implement floe_core.PluginMetadata"
                )
            check_api_version(name, instance.floe_api_version)
            self._instances[key] = instance
        return self._instances[key]

    def load_all(self) -> dict[tuple[PluginType, str], PluginMetadata]:
        """Load every discovered plugin; failures are recorded in :attr:`failures`."""
        loaded: dict[tuple[PluginType, str], PluginMetadata] = {}
        for plugin_type, plugins in self.discovery.discover_all().items():
            for name in plugins:
                try:
                    loaded[(plugin_type, name)] = self.get(plugin_type, name)
                except (PluginLoadError, PluginIncompatibleError, DuplicatePluginError) as exc:
                    self.failures[(plugin_type, name)] = str(exc)
        return loaded


class PluginRegistry:
    """One entry point to discovery, loading and configuration validation."""

    def __init__(self) -> None:
        self.discovery = PluginDiscovery()
        self.loader = PluginLoader(self.discovery)

    def list(self, plugin_type: PluginType) -> list[DiscoveredPlugin]:
        found = self.discovery.discover_all()[plugin_type]
        return [item for name in sorted(found) for item in found[name]]

    def get(self, plugin_type: PluginType, name: str) -> PluginMetadata:
        return self.loader.get(plugin_type, name)

    def validate_config(
        self, plugin_type: PluginType, name: str, config: dict[str, Any]
    ) -> BaseModel | None:
        """Validate ``config`` against the plugin's schema; ``None`` if it takes none."""
        schema = self.get(plugin_type, name).get_config_schema()
        if schema is None:
            return None
        try:
            return schema.model_validate(config)
        except ValidationError as exc:
            raise PluginConfigurationError.from_validation_error(name, exc) from None
