"""The base every floe plugin implements: identity, lifecycle and health."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime

from pydantic import BaseModel

from floe_core.health import (
    HEALTH_CHECK_TIMEOUT_DEFAULT,
    HealthState,
    HealthStatus,
    probe_within,
    validate_timeout,
)

__all__ = ["PluginMetadata"]


class PluginMetadata(ABC):
    """Identity, lifecycle and health of a plugin.

    Subclasses probe their dependencies in :meth:`_probe`; :meth:`health_check` adds the timing
    details, enforces the timeout and turns any exception into an UNHEALTHY status.
    """

    @property
    @abstractmethod
    def name(self) -> str:
        """The plugin's name, as referenced from ``floe.yaml``."""

    @property
    @abstractmethod
    def version(self) -> str:
        """The plugin's own version."""

    @property
    @abstractmethod
    def floe_api_version(self) -> str:
        """The floe plugin API version (``MAJOR.MINOR``) the plugin was written against."""

    @property
    def description(self) -> str:
        return ""

    def startup(self) -> None:  # noqa: B027 - optional hook
        """Prepare the plugin for use; raise if it cannot work."""

    def shutdown(self) -> None:  # noqa: B027 - optional hook
        """Release what :meth:`startup` acquired."""

    def get_config_schema(self) -> type[BaseModel] | None:
        """The pydantic model validating this plugin's configuration, if it takes any."""
        return None

    def _probe(self, timeout: float) -> HealthStatus:
        """Check the plugin's dependencies; the default has none to check."""
        return HealthStatus(HealthState.HEALTHY, f"{self.name} has no external dependencies")

    def health_check(self, timeout: float = HEALTH_CHECK_TIMEOUT_DEFAULT) -> HealthStatus:
        """Probe the plugin within ``timeout`` seconds; never raises for an unhealthy plugin."""
        timeout = validate_timeout(timeout)
        started = time.perf_counter()
        status = probe_within(
            lambda: self._probe(timeout),
            timeout,
            silent=f"{self.name} health check timed out after {timeout:g}s",
            name=f"health-{self.name}",
        )
        details = {
            **status.details,
            "response_time_ms": round((time.perf_counter() - started) * 1000, 3),
            "checked_at": datetime.now(UTC).isoformat(),
        }
        message = status.message or f"{self.name} is {status.state.value}"
        return HealthStatus(status.state, message, details)
