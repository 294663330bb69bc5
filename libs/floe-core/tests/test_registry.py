"""Plugin discovery and loading through real entry points of a registered distribution."""

from __future__ import annotations

import pytest
from floe_core import (
    DuplicatePluginError,
    PluginConfigurationError,
    PluginIncompatibleError,
    PluginLoadError,
    PluginNotFoundError,
    PluginRegistry,
    PluginType,
)
from floe_testing.fixtures.entry_points import DistributionFactory
from pydantic import BaseModel

PLUGIN_SOURCE = """
from pydantic import BaseModel, ConfigDict
from floe_core.plugin_metadata import PluginMetadata

class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int
    host: str = "localhost"

def make(api):
    class Plugin(PluginMetadata):
        name = "{name}"
        version = "1.2.3"
        floe_api_version = api
        def get_config_schema(self):
            return Config
    return Plugin

Good = make("1.0")
Newer = make("1.9")
OtherMajor = make("2.0")
"""


def register(fake_distribution: DistributionFactory, name: str, target: str) -> None:
    module = f"floe_fake_{name}"
    fake_distribution(
        f"floe-fake-{name}",
        {PluginType.COMPUTE.value: {name: f"{module}:{target}"}},
        {module: PLUGIN_SOURCE.replace("{name}", name)},
    )


def test_discovers_and_loads(fake_distribution: DistributionFactory) -> None:
    register(fake_distribution, "duck", "Good")
    registry = PluginRegistry()
    [found] = registry.list(PluginType.COMPUTE)
    assert (found.name, found.distribution, found.module) == (
        "duck",
        "floe-fake-duck",
        "floe_fake_duck",
    )
    plugin = registry.get(PluginType.COMPUTE, "duck")
    assert (plugin.name, plugin.version) == ("duck", "1.2.3")


def test_not_found_lists_installed(fake_distribution: DistributionFactory) -> None:
    register(fake_distribution, "duck", "Good")
    with pytest.raises(PluginNotFoundError, match=r"no compute plugin named 'spark'.*duck"):
        PluginRegistry().get(PluginType.COMPUTE, "spark")


@pytest.mark.parametrize("target", ["Newer", "OtherMajor"])
def test_incompatible_api_version(fake_distribution: DistributionFactory, target: str) -> None:
    register(fake_distribution, "duck", target)
    with pytest.raises(PluginIncompatibleError, match="needs floe plugin API"):
        PluginRegistry().get(PluginType.COMPUTE, "duck")


def test_broken_plugin_does_not_hide_others(fake_distribution: DistributionFactory) -> None:
    register(fake_distribution, "duck", "Good")
    fake_distribution(
        "floe-fake-broken",
        {PluginType.COMPUTE.value: {"broken": "floe_fake_broken:Plugin"}},
        {"floe_fake_broken": "raise RuntimeError('boom at import')\n"},
    )
    registry = PluginRegistry()
    assert [p.name for p in registry.list(PluginType.COMPUTE)] == ["broken", "duck"]
    loaded = registry.loader.load_all()
    assert (PluginType.COMPUTE, "duck") in loaded
    assert "boom at import" in registry.loader.failures[(PluginType.COMPUTE, "broken")]
    with pytest.raises(PluginLoadError, match="floe-fake-broken failed to load"):
        registry.get(PluginType.COMPUTE, "broken")


def test_duplicate_names_across_distributions(fake_distribution: DistributionFactory) -> None:
    register(fake_distribution, "duck", "Good")
    fake_distribution(
        "floe-fake-duck-fork",
        {PluginType.COMPUTE.value: {"duck": "floe_fake_duck:Good"}},
        {},
    )
    with pytest.raises(DuplicatePluginError, match="floe-fake-duck, floe-fake-duck-fork"):
        PluginRegistry().get(PluginType.COMPUTE, "duck")


def test_config_errors_are_rendered_per_field(fake_distribution: DistributionFactory) -> None:
    register(fake_distribution, "duck", "Good")
    registry = PluginRegistry()
    with pytest.raises(PluginConfigurationError) as caught:
        registry.validate_config(PluginType.COMPUTE, "duck", {"port": "x", "colour": "red"})
    assert caught.value.errors == [
        ("port", "Input should be a valid integer, unable to parse string as an integer"),
        ("colour", "Extra inputs are not permitted"),
    ]
    valid = registry.validate_config(PluginType.COMPUTE, "duck", {"port": 1})
    assert isinstance(valid, BaseModel)
