"""The health-check contract, run through the shared base tests on a plugin probing a TCP port."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from floe_core import HealthState, HealthStatus, PluginMetadata
from floe_testing import BaseHealthCheckTests


class PortPlugin(PluginMetadata):
    """A plugin whose only dependency is a TCP server."""

    name = "port"
    version = "0.0.1"
    floe_api_version = "1.0"

    def __init__(self, port: int) -> None:
        self.port = port

    def _probe(self, timeout: float) -> HealthStatus:
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout):
            return HealthStatus(HealthState.HEALTHY, f"port {self.port} accepts connections")


@pytest.fixture
def healthy_plugin() -> Iterator[PortPlugin]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield PortPlugin(server.getsockname()[1])


@pytest.fixture
def unhealthy_plugin() -> PortPlugin:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    return PortPlugin(free_port)


class TestPortPluginHealth(BaseHealthCheckTests):
    pass


def test_slow_probe_times_out() -> None:
    class Slow(PortPlugin):
        def _probe(self, timeout: float) -> HealthStatus:
            import time

            time.sleep(5)
            return HealthStatus(HealthState.HEALTHY)

    status = Slow(1).health_check(timeout=0.2)
    assert status.state is HealthState.UNHEALTHY
    assert "timed out after 0.2s" in status.message
