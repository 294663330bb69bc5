"""Turning floe's errors into one line on stderr and the documented exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click

__all__ = ["EXIT_CONFIG", "EXIT_FAILED", "EXIT_OK", "fail", "handle_errors"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Configuration and plugin errors exit 2 with one line; nothing prints a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from floe_core.errors import FloeConfigError, PluginError

        try:
            return func(*args, **kwargs)
        except (FloeConfigError, PluginError) as exc:
            fail(str(exc), EXIT_CONFIG)
            raise  # unreachable: fail() exits

    return wrapper
