"""Logging for the CLI: floe's structured events and dlt's messages go to stderr."""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["configure_logging", "remember_logging"]

_settings = {"log_format": "console", "level": "warning"}


def remember_logging(log_format: str, level: str) -> None:
    """Keep the command line's choice; logging is set up only by commands that log (it is slow
    to import)."""
    _settings.update(log_format=log_format, level=level)


def configure_logging() -> None:
    """Send structlog events to stderr (console or JSON) and quieten dlt's own logger."""
    import structlog

    log_format, level = _settings["log_format"], _settings["level"]
    numeric = logging.getLevelName(level.upper())
    renderer: structlog.typing.Processor = (
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
