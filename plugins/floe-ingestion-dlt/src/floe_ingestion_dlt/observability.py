"""OpenTelemetry spans and structlog events of the plugin; neither ever carries a secret."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from floe_ingestion_dlt.errors import categorize_error

__all__ = ["get_logger", "record_error", "span"]

_tracer = trace.get_tracer("floe.ingestion")


def get_logger() -> Any:
    return structlog.get_logger("floe.ingestion")


@contextmanager
def span(operation: str, **attributes: str | int | float | bool | None) -> Iterator[Span]:
    """A ``floe.ingestion.<operation>`` span; a failure records error type and category."""
    clean = {f"ingestion.{k}": v for k, v in attributes.items() if v is not None}
    with _tracer.start_as_current_span(
        f"floe.ingestion.{operation}",
        attributes=clean,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except Exception as exc:
            record_error(current, exc)
            raise


def record_error(current: Span, exc: BaseException) -> None:
    """Mark ``current`` failed with ``exc``'s type, message (secret-free) and category."""
    current.set_attribute("error.type", type(exc).__name__)
    current.set_attribute("error.message", str(exc)[:500])
    current.set_attribute("error.category", categorize_error(exc).value)
    current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
