"""Health check results shared by every plugin."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "HEALTH_CHECK_TIMEOUT_DEFAULT",
    "HEALTH_CHECK_TIMEOUT_MAX",
    "HEALTH_CHECK_TIMEOUT_MIN",
    "HealthState",
    "HealthStatus",
    "validate_timeout",
]

HEALTH_CHECK_TIMEOUT_MIN = 0.1
HEALTH_CHECK_TIMEOUT_MAX = 60.0
HEALTH_CHECK_TIMEOUT_DEFAULT = 5.0


class HealthState(StrEnum):
    """Overall state of a plugin or one of its dependencies."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True)
class HealthStatus:
    """Result of a health check: a state, a human message and machine-readable details."""

    state: HealthState
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.state is HealthState.HEALTHY


def validate_timeout(timeout: float) -> float:
    """Return ``timeout`` if it is within the accepted range, else raise ``ValueError``."""
    if not HEALTH_CHECK_TIMEOUT_MIN <= timeout <= HEALTH_CHECK_TIMEOUT_MAX:
        raise ValueError(
            f"health check timeout must be between {HEALTH_CHECK_TIMEOUT_MIN} and "
            f"{HEALTH_CHECK_TIMEOUT_MAX} seconds, got {timeout}"
        )
    return float(timeout)
