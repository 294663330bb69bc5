"""Health check results shared by every plugin."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

__all__ = [
    "HEALTH_CHECK_TIMEOUT_DEFAULT",
    "HEALTH_CHECK_TIMEOUT_MAX",
    "HEALTH_CHECK_TIMEOUT_MIN",
    "HealthState",
    "HealthStatus",
    "probe_within",
    "unhealthy",
    "validate_timeout",
]

_Status = TypeVar("_Status", bound="HealthStatus | None")

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


def unhealthy(exc: BaseException) -> HealthStatus:
    """An unhealthy status saying, on one line, what ``exc`` was."""
    return HealthStatus(HealthState.UNHEALTHY, " ".join(f"{type(exc).__name__}: {exc}".split()))


def probe_within(
    probe: Callable[[], _Status], timeout: float, *, silent: str, name: str = "health"
) -> _Status | HealthStatus:
    """Run ``probe`` in a daemon thread and wait ``timeout`` seconds for its answer.

    A probe that raises is unhealthy (:func:`unhealthy`); one that has not answered by then is
    unhealthy with the message ``silent`` and is left to finish on its own.
    """
    outcome: list[_Status | HealthStatus] = []

    def run() -> None:
        try:
            outcome.append(probe())
        except Exception as exc:  # a failing probe is a result, not an error
            outcome.append(unhealthy(exc))

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join(timeout)
    return outcome[0] if outcome else HealthStatus(HealthState.UNHEALTHY, silent)
