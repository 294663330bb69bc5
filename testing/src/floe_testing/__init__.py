"""Test base classes and fixtures every floe plugin package reuses."""

from floe_testing.base_discovery import BasePluginDiscoveryTests
from floe_testing.base_health import BaseHealthCheckTests
from floe_testing.services import require_services, service_unavailable

__all__ = [
    "BaseHealthCheckTests",
    "BasePluginDiscoveryTests",
    "require_services",
    "service_unavailable",
]
