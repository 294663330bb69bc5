"""Skipping (or, in CI, failing) tests whose real service is not reachable."""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest

__all__ = ["port_open", "require_services", "service_unavailable"]


def require_services() -> bool:
    """True when a missing service must fail the run (``FLOE_REQUIRE_SERVICES=1``, set in CI)."""
    return os.environ.get("FLOE_REQUIRE_SERVICES", "") not in ("", "0", "false")


def service_unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when services are required."""
    if require_services():
        pytest.fail(f"required service unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
