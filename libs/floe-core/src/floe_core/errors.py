"""Errors raised by the plugin registry and the floe.yaml compiler."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

    from floe_core.plugin_types import PluginType

__all__ = [
    "DuplicatePluginError",
    "FloeConfigError",
    "FloeError",
    "PluginConfigurationError",
    "PluginError",
    "PluginIncompatibleError",
    "PluginLoadError",
    "PluginNotFoundError",
]


class FloeError(Exception):
    """Base of every error floe raises on purpose."""


class FloeConfigError(FloeError):
    """``floe.yaml`` (or a value it references) is invalid; the message is one line.

    ``loc`` is the key path of the offending value in floe.yaml when the error is raised away
    from the file (a plugin validating its config block); the CLI turns it into a line.
    """

    loc: tuple[str | int, ...] = ()

    def __init__(self, message: str, *, path: str = "", line: int | None = None) -> None:
        self.path = path
        self.line = line
        location = f"{path}:{line}" if path and line else path
        text = f"{location}: {message}" if location else message
        super().__init__(text.replace("\r", "\\r").replace("\n", "\\n"))


class PluginError(FloeError):
    """A plugin could not be found, loaded or configured."""


class PluginNotFoundError(PluginError):
    def __init__(self, plugin_type: PluginType, name: str, available: Iterable[str]) -> None:
        self.plugin_type = plugin_type
        self.name = name
        self.available = sorted(available)
        installed = ", ".join(self.available) or "none"
        super().__init__(
            f"no {plugin_type.short_name} plugin named {name!r} is installed "
            f"(installed: {installed})"
        )


class PluginLoadError(PluginError):
    """A plugin's entry point could not be imported or instantiated."""


class PluginIncompatibleError(PluginError):
    def __init__(self, name: str, plugin_api: str, platform_api: str) -> None:
        self.name = name
        self.plugin_api = plugin_api
        self.platform_api = platform_api
        super().__init__(
            f"plugin {name!r} needs floe plugin API {plugin_api}, "
            f"this platform provides {platform_api}"
        )


class DuplicatePluginError(PluginError):
    def __init__(self, plugin_type: PluginType, name: str, distributions: Iterable[str]) -> None:
        self.plugin_type = plugin_type
        self.name = name
        self.distributions = sorted(distributions)
        super().__init__(
            f"{plugin_type.short_name} plugin {name!r} is registered by more than one "
            f"distribution: {', '.join(self.distributions)}"
        )


class PluginConfigurationError(PluginError):
    """A plugin's configuration failed validation; one entry per invalid field."""

    def __init__(self, name: str, errors: list[tuple[str, str]]) -> None:
        self.name = name
        self.errors = errors
        rendered = "; ".join(f"{field}: {message}" for field, message in errors)
        super().__init__(f"invalid configuration for plugin {name!r}: {rendered}")

    @classmethod
    def from_validation_error(cls, name: str, error: ValidationError) -> PluginConfigurationError:
        fields = [
            (".".join(str(part) for part in item["loc"]) or "<root>", item["msg"])
            for item in error.errors(include_url=False, include_input=False)
        ]
        return cls(name, fields)
