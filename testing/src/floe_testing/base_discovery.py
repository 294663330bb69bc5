"""Tests every plugin package runs to prove its plugin is registered and loadable."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import ClassVar

import pytest
from floe_core.plugin_metadata import PluginMetadata

__all__ = ["BasePluginDiscoveryTests"]


class BasePluginDiscoveryTests:
    """Subclass as ``TestXDiscovery(BasePluginDiscoveryTests)`` and set the class variables."""

    entry_point_group: ClassVar[str]
    entry_point_name: ClassVar[str]
    expected_module_prefix: ClassVar[str]
    expected_class_name: ClassVar[str]
    expected_abc: ClassVar[type[PluginMetadata]]

    def _entry_points(self) -> list[EntryPoint]:
        found = entry_points(group=self.entry_point_group)
        unique = {(ep.name, ep.value): ep for ep in found if ep.name == self.entry_point_name}
        return list(unique.values())

    @pytest.fixture
    def plugin_class(self) -> type[PluginMetadata]:
        loaded: type[PluginMetadata] = self._entry_points()[0].load()
        return loaded

    @pytest.fixture
    def plugin(self, plugin_class: type[PluginMetadata]) -> PluginMetadata:
        return plugin_class()

    def test_entry_point_registered(self) -> None:
        assert self._entry_points(), (
            f"no entry point {self.entry_point_name!r} in group {self.entry_point_group!r}"
        )

    def test_exactly_one_entry_point(self) -> None:
        assert len(self._entry_points()) == 1

    def test_entry_point_module_path(self) -> None:
        module, _, attr = self._entry_points()[0].value.partition(":")
        assert module.startswith(self.expected_module_prefix)
        assert attr == self.expected_class_name

    def test_entry_point_loads(self, plugin_class: type[PluginMetadata]) -> None:
        assert isinstance(plugin_class, type)
        assert plugin_class.__name__ == self.expected_class_name

    def test_plugin_instantiates(self, plugin: PluginMetadata) -> None:
        assert plugin is not None

    def test_plugin_name_matches_entry_point(self, plugin: PluginMetadata) -> None:
        assert plugin.name == self.entry_point_name

    def test_required_metadata_present(self, plugin: PluginMetadata) -> None:
        for attribute in ("name", "version", "floe_api_version", "description"):
            assert hasattr(plugin, attribute), attribute

    def test_metadata_non_empty(self, plugin: PluginMetadata) -> None:
        assert plugin.name.strip()
        assert plugin.version.strip()
        assert plugin.floe_api_version.strip()
        assert plugin.description.strip()

    def test_inherits_abc(self, plugin_class: type[PluginMetadata]) -> None:
        assert issubclass(plugin_class, self.expected_abc)

    def test_instance_of_abc(self, plugin: PluginMetadata) -> None:
        assert isinstance(plugin, self.expected_abc)
        assert isinstance(plugin, PluginMetadata)

    def test_lifecycle_methods(self, plugin: PluginMetadata) -> None:
        for method in ("startup", "shutdown", "health_check", "get_config_schema"):
            assert callable(getattr(plugin, method)), method
