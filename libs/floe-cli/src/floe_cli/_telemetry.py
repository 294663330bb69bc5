"""Exporting floe's OpenTelemetry spans when the standard ``OTEL_*`` variables ask for it.

``OTEL_TRACES_EXPORTER=console`` writes spans to stderr; ``otlp`` sends them over OTLP/HTTP to
``OTEL_EXPORTER_OTLP_ENDPOINT`` (needs ``pip install floe-cli[otlp]``). ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES`` describe the process. Unset or ``none``: nothing is exported.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import Any

from floe_core.errors import FloeConfigError

__all__ = ["configure_tracing"]


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stderr)
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise FloeConfigError(
                "OTEL_TRACES_EXPORTER=otlp needs the OTLP exporter: pip install floe-cli[otlp]"
            ) from None
        return OTLPSpanExporter()
    raise FloeConfigError(
        f"OTEL_TRACES_EXPORTER={name!r} is not supported (use console, otlp or none)"
    )


def configure_tracing() -> None:
    """Install a tracer provider exporting to the configured exporters; flushed at exit."""
    names = [n.strip() for n in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",")]
    names = [n for n in names if n and n != "none"]
    if not names:
        return
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "floe")})
    provider = TracerProvider(resource=resource)
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    trace.set_tracer_provider(provider)
    atexit.register(provider.shutdown)
