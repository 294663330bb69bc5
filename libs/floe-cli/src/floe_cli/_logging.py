"""Logging for the CLI: floe's structured events and dlt's messages go to stderr."""

from __future__ import annotations

import logging
import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from structlog.typing import Processor

__all__ = ["configure_logging", "remember_logging"]

_settings = {"log_format": "console", "level": "warning"}


def remember_logging(log_format: str, level: str) -> None:
    """Keep the command line's choice; logging is set up only by commands that log (it is slow
    to import)."""
    _settings.update(log_format=log_format, level=level)


def _structlog() -> ModuleType:
    """structlog, imported without ``rich``.

    structlog's console renderer and traceback helpers import rich when it is installed (a
    quarter of a second of every run), only to draw tracebacks, which floe's one-line errors
    never show; without it, a debug log's tracebacks are plain text. A process that imported
    rich already keeps it.
    """
    if "structlog" not in sys.modules and "rich" not in sys.modules:
        sys.modules["rich"] = None  # type: ignore[assignment]  # `import rich` fails: structlog does without
        try:
            import structlog
        finally:
            del sys.modules["rich"]
    import structlog

    return structlog


def configure_logging() -> None:
    """Send structlog events to stderr (console or JSON) and quieten dlt's own logger."""
    structlog = _structlog()

    log_format, level = _settings["log_format"], _settings["level"]
    numeric = logging.getLevelName(level.upper())
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    # dlt's failures reach the user as floe's one-line errors; its own log is for debugging.
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "DEBUG" if level == "debug" else "CRITICAL")
    if level != "debug":
        import warnings

        warnings.filterwarnings("ignore", module="dlt")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
