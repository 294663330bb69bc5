"""Spans leave the process when the standard OTEL_* variables configure an exporter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart"


def _run(project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    for name in ("floe.yaml", "shop.db"):
        shutil.copy(QUICKSTART / name, project / name)
    return subprocess.run(
        [sys.executable, "-m", "floe_cli", "ingest", "run", "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", **env},
    )


def test_console_exporter(tmp_path: Path) -> None:
    result = _run(tmp_path, OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="floe-test")
    assert result.returncode == 0, result.stderr
    assert '"name": "floe.ingestion.run"' in result.stderr
    assert '"ingestion.rows_loaded": 5500' in result.stderr
    assert '"service.name": "floe-test"' in result.stderr


def test_otlp_exporter(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/traces", method="POST").respond_with_data("")
    result = _run(
        tmp_path,
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=httpserver.url_for("/").rstrip("/"),
    )
    assert result.returncode == 0, result.stderr
    requests = [r for r, _ in httpserver.log if r.path == "/v1/traces"]
    assert requests
    assert b"floe.ingestion.run" in b"".join(r.get_data() for r in requests)


def test_unknown_exporter_is_a_configuration_error(tmp_path: Path) -> None:
    result = _run(tmp_path, OTEL_TRACES_EXPORTER="zipkin-ish")
    assert result.returncode == 2
    assert "OTEL_TRACES_EXPORTER='zipkin-ish' is not supported" in result.stderr
