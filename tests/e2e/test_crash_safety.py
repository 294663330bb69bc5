"""A load killed with SIGKILL at any point, then rerun, leaves the table equal to the source."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROWS = 200_000
KILL_AFTER_SECONDS = [0.8, 1.6, 2.4, 3.2, 4.0, 5.0]


def _source(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, name TEXT, updated_at TIMESTAMP)")
        db.executemany(
            "INSERT INTO events VALUES (?, ?, ?)",
            ((i, f"event {i}", f"2024-01-01 00:00:{i % 60:02d}") for i in range(1, ROWS + 1)),
        )


def _floe(project: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "floe_cli", "ingest", "run", "-f", str(project / "floe.yaml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
    )


def _rest_catalog(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """floe.yaml lines for the SeaweedFS REST catalog, with data and state on its S3."""
    weed = request.getfixturevalue("seaweedfs")
    monkeypatch.setenv("S3_SECRET", weed.secret_key)
    state = f"s3://{weed.bucket}/crash-{uuid.uuid4().hex[:8]}"
    return (
        f"catalog: {{type: rest, uri: '{weed.catalog_uri}', warehouse: '{weed.warehouse}', "
        f"credential: '{weed.access_key}:${{S3_SECRET}}'}}\n"
        f"storage:\n  s3: {{endpoint: '{weed.s3_endpoint}', access_key_id: {weed.access_key}, "
        "secret_access_key: '${S3_SECRET}', region: us-east-1, path_style: true}\n"
        f"  state_url: {state}\n"
    )


@pytest.mark.parametrize(
    ("catalog", "write_mode", "cursor"),
    [
        ("sql", "append", "updated_at"),
        ("sql", "merge", "updated_at"),
        ("rest", "append", "updated_at"),
    ],
)
def test_kill_and_rerun_loses_and_duplicates_nothing(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    catalog: str,
    write_mode: str,
    cursor: str,
) -> None:
    _source(tmp_path / "source.db")
    key = ", primary_key: id" if write_mode == "merge" else ""
    header = _rest_catalog(request, monkeypatch) if catalog == "rest" else ""
    namespace = f"bronze_{uuid.uuid4().hex[:6]}"
    (tmp_path / "floe.yaml").write_text(
        header + "ingestion:\n  sources:\n    - name: events\n      type: sql_database\n"
        f"      config: {{credentials: 'sqlite:///source.db', tables: [events], "
        f"cursor_field: {cursor}, chunk_size: 20000}}\n"
        f"      destination: {{namespace: {namespace}, write_mode: {write_mode}{key}}}\n",
        encoding="utf-8",
    )
    killed = 0
    for delay in KILL_AFTER_SECONDS:
        process = _floe(tmp_path)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
    final = _floe(tmp_path)
    assert final.wait(timeout=300) == 0
    assert killed >= 3, "the loads finished before they could be killed: raise ROWS"

    from floe_core import compile_spec
    from floe_ingestion_dlt import DltIngestionPlugin

    plugin = DltIngestionPlugin()
    plugin.configure(compile_spec(tmp_path / "floe.yaml"))
    ids = plugin.read_table(f"{namespace}.events")["id"].to_pylist()
    assert len(ids) == ROWS
    assert len(set(ids)) == ROWS
