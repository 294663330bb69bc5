"""Spans and log events describe each run, and never carry a secret."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog
from floe_ingestion_dlt import SourceConnectionError
from floe_testing.fixtures.databases import Database, SourceDb
from floe_testing.fixtures.ingestion import FloeProject
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

CANARY = "canary-pw-7f3a9"
_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def _tracer_provider() -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(provider)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    _EXPORTER.clear()
    return _EXPORTER


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(buffer),
    )
    yield buffer
    structlog.reset_defaults()


def _dump(exporter: InMemorySpanExporter) -> str:
    return json.dumps(
        [
            {"name": s.name, "attributes": dict(s.attributes or {}), "events": len(s.events)}
            for s in exporter.get_finished_spans()
        ],
        default=str,
    )


def test_run_spans_and_events(
    floe_project: FloeProject,
    postgres_db: Database,
    spans: InMemorySpanExporter,
    log_output: io.StringIO,
) -> None:
    # PostgreSQL here trusts local connections, so the password is accepted and ignored.
    db = SourceDb(postgres_db)
    db.execute(f"CREATE TABLE {db.table} (id INTEGER PRIMARY KEY)")
    db.execute(f"INSERT INTO {db.table} VALUES (1), (2), (3)")
    url = postgres_db.url.replace("postgres@", f"postgres:{CANARY}@")
    floe_project.write(
        f"""
        ingestion:
          sources:
            - name: pg
              type: sql_database
              config: {{credentials: "{url}", tables: [{db.table}]}}
              destination: {{namespace: traced}}
        """
    )
    assert floe_project.run().rows_loaded == 3

    finished = {s.name: s for s in spans.get_finished_spans()}
    assert {
        "floe.ingestion.startup",
        "floe.ingestion.create_pipeline",
        "floe.ingestion.run",
    } <= set(finished)
    run = dict(finished["floe.ingestion.run"].attributes or {})
    assert run["ingestion.source_type"] == "sql_database"
    assert run["ingestion.destination_table"] == "traced.*"
    assert run["ingestion.write_mode"] == "append"
    assert run["ingestion.rows_loaded"] == 3
    assert isinstance(run["ingestion.bytes_written"], int)
    assert run["ingestion.bytes_written"] > 0
    assert isinstance(run["ingestion.duration_seconds"], float)
    assert run["ingestion.duration_seconds"] > 0

    events = [json.loads(line) for line in log_output.getvalue().splitlines()]
    completed = [e for e in events if e["event"] == "pipeline_completed"]
    assert completed[0]["status"] == "success"
    assert completed[0]["pipeline_id"] == "floe__pg__traced"
    assert completed[0]["source_type"] == "sql_database"
    assert CANARY not in _dump(spans)
    assert CANARY not in log_output.getvalue()
    db.dispose()


def test_failed_run_records_the_error_without_secrets(
    floe_project: FloeProject, spans: InMemorySpanExporter, log_output: io.StringIO
) -> None:
    floe_project.write(
        f"""
        retry: {{max_retries: 0}}
        ingestion:
          sources:
            - name: down
              type: sql_database
              config: {{credentials: "postgresql://u:{CANARY}@127.0.0.1:1/db", tables: [x]}}
              destination: {{namespace: bronze}}
        """
    )
    with pytest.raises(SourceConnectionError) as caught:
        floe_project.run()
    assert caught.value.source_type == "sql_database"
    assert caught.value.pipeline_name == "floe__down__bronze"
    assert CANARY not in str(caught.value)

    run = next(s for s in spans.get_finished_spans() if s.name == "floe.ingestion.run")
    attributes = dict(run.attributes or {})
    assert attributes["error.category"] == "transient"
    assert attributes["error.type"] == "SourceConnectionError"
    assert "error.message" in attributes
    assert CANARY not in _dump(spans)
    failed = [json.loads(x) for x in log_output.getvalue().splitlines()]
    assert any(e["event"] == "pipeline_failed" and e["status"] == "failed" for e in failed)
    assert CANARY not in log_output.getvalue()
