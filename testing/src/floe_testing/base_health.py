"""Tests every plugin package runs against its ``health_check``.

Subclasses provide two fixtures: ``healthy_plugin`` (its dependencies reachable) and
``unhealthy_plugin`` (pointed at something that is not there).
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from floe_core.health import (
    HEALTH_CHECK_TIMEOUT_MAX,
    HEALTH_CHECK_TIMEOUT_MIN,
    HealthState,
    HealthStatus,
)
from floe_core.plugin_metadata import PluginMetadata

__all__ = ["BaseHealthCheckTests"]


class BaseHealthCheckTests:
    """Eleven checks of the health-check contract."""

    def test_health_check_exists(self, healthy_plugin: PluginMetadata) -> None:
        assert callable(healthy_plugin.health_check)

    def test_returns_health_status(self, healthy_plugin: PluginMetadata) -> None:
        assert isinstance(healthy_plugin.health_check(), HealthStatus)

    def test_healthy_when_connected(self, healthy_plugin: PluginMetadata) -> None:
        status = healthy_plugin.health_check()
        assert status.state is HealthState.HEALTHY, status.message

    def test_unhealthy_when_not_connected(self, unhealthy_plugin: PluginMetadata) -> None:
        assert unhealthy_plugin.health_check(timeout=2.0).state is HealthState.UNHEALTHY

    def test_details_have_response_time(self, healthy_plugin: PluginMetadata) -> None:
        details = healthy_plugin.health_check().details
        assert isinstance(details["response_time_ms"], float)
        assert details["response_time_ms"] >= 0

    def test_details_have_checked_at(self, healthy_plugin: PluginMetadata) -> None:
        checked_at = datetime.fromisoformat(healthy_plugin.health_check().details["checked_at"])
        assert checked_at.tzinfo is not None

    def test_honours_timeout(self, unhealthy_plugin: PluginMetadata) -> None:
        started = time.monotonic()
        unhealthy_plugin.health_check(timeout=1.0)
        assert time.monotonic() - started < 1.0 + 10.0  # generous: a busy machine is slow

    @pytest.mark.parametrize("timeout", [0.0, -1.0, HEALTH_CHECK_TIMEOUT_MAX + 0.1])
    def test_rejects_timeout_out_of_range(
        self, healthy_plugin: PluginMetadata, timeout: float
    ) -> None:
        with pytest.raises(ValueError, match="timeout"):
            healthy_plugin.health_check(timeout=timeout)

    @pytest.mark.parametrize("timeout", [HEALTH_CHECK_TIMEOUT_MIN, HEALTH_CHECK_TIMEOUT_MAX])
    def test_accepts_boundary_timeouts(
        self, healthy_plugin: PluginMetadata, timeout: float
    ) -> None:
        assert isinstance(healthy_plugin.health_check(timeout=timeout), HealthStatus)

    def test_never_raises_when_unhealthy(self, unhealthy_plugin: PluginMetadata) -> None:
        status = unhealthy_plugin.health_check(timeout=2.0)
        assert status.state is not HealthState.HEALTHY

    def test_message_set(
        self, healthy_plugin: PluginMetadata, unhealthy_plugin: PluginMetadata
    ) -> None:
        assert healthy_plugin.health_check().message
        assert unhealthy_plugin.health_check(timeout=2.0).message
