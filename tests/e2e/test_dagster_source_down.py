"""The code location loads while a source database is down; materializing then fails clearly.

The PostgreSQL source listens nowhere (port 1 on loopback refuses connections). Loading the code
location connects to nothing, so ``dagster definitions validate`` passes; running the source's
job fails with the source's one-line error and its category.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MODULE = "floe_orchestrator_dagster.definitions"
BIN = Path(sys.executable).parent
PASSWORD = "pw-7c1e-canary"
FLOE_YAML = f"""\
retry: {{max_retries: 1, initial_delay_seconds: 0.1}}
ingestion:
  sources:
    - name: shop
      type: sql_database
      config:
        credentials: "postgresql://floe:{PASSWORD}@127.0.0.1:1/shop"
        tables: [customers, orders]
      destination: {{namespace: bronze}}
"""
ERROR = (
    "source 'shop' (sql_database) -> bronze.*: extract failed: OperationalError: "
    '(psycopg2.OperationalError) connection to server at "127.0.0.1", port 1 failed: '
    "Connection refused Is the server running on that host and accepting TCP/IP connections?"
)

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "floe.yaml").write_text(FLOE_YAML, encoding="utf-8")
    (tmp_path / ".dagster").mkdir()
    return tmp_path


def _run(command: list[str], project: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(
        FLOE_CONFIG=str(project / "floe.yaml"),
        DAGSTER_HOME=str(project / ".dagster"),
        RUNTIME__DLTHUB_TELEMETRY="false",
    )
    return subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_definitions_validate_passes_while_the_source_database_is_down(project: Path) -> None:
    result = _run([str(BIN / "dagster"), "definitions", "validate", "-m", MODULE], project)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Validation successful for code location" in result.stderr + result.stdout


def test_materializing_fails_with_the_sources_one_line_error(project: Path) -> None:
    result = _run([sys.executable, "-m", "floe_testing.dagster_run", "shop"], project)

    assert result.returncode == 1
    summary = json.loads(result.stdout.strip().splitlines()[-1])  # after the logs
    assert summary["error_category"] == "transient"  # retried by the engine, then given up
    assert summary["error_type"] == "SourceConnectionError"
    assert summary["attempts"] == 2  # max_retries: 1
    assert summary["retries"] == 0  # Dagster does not retry on top of the engine
    assert summary["rows_loaded"] == {}
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"[transient] {ERROR}"), line
    assert PASSWORD not in result.stdout + result.stderr
    assert not (project / ".floe" / "warehouse" / "bronze").exists()
