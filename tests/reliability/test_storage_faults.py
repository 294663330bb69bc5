"""The catalog or S3 failing (down from the start, or mid-load) never half-commits a table.

Each load appends the source rows past the cursor. A load that fails leaves every table at its
last snapshot; the run fails with its error category, and the rerun after the fault heals lands
each row exactly once.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from floe_testing.fault_proxy import (
    CLOSE,
    FORWARD,
    LOSE_ANSWER,
    Decision,
    Fail,
    FaultProxy,
    forward_all,
)
from floe_testing.fixtures.databases import PG_HOST, PG_USER
from floe_testing.fixtures.seaweedfs import SeaweedFS

CATALOG_503 = Fail(
    503,
    b'{"error": {"message": "unavailable", "type": "ServiceUnavailableException", "code": 503}}',
    "application/json",
)
S3_503 = Fail(
    503,
    b"<Error><Code>ServiceUnavailable</Code><Message>try later</Message></Error>",
    "application/xml",
)


def _add_rows(root: Path, first: int, last: int) -> None:
    with sqlite3.connect(root / "source.db") as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT)"
        )
        db.executemany(
            "INSERT INTO events VALUES (?, ?, ?)",
            ((i, f"event {i}", f"2024-01-01 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}")
             for i in range(first, last + 1)),
        )  # fmt: skip


def _project(root: Path, header: str, namespace: str, retries: int = 1) -> None:
    (root / "floe.yaml").write_text(
        header + f"retry: {{max_retries: {retries}, initial_delay_seconds: 0.1}}\n"
        "ingestion:\n  sources:\n    - name: events\n      type: sql_database\n"
        "      config: {credentials: 'sqlite:///source.db', tables: [events], "
        "cursor_field: updated_at}\n"
        f"      destination: {{namespace: {namespace}, write_mode: append}}\n",
        encoding="utf-8",
    )


def _floe(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floe_cli", *args],
        cwd=root,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _summary(run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    [source] = json.loads(run.stdout)["sources"]
    assert isinstance(source, dict)
    return source


def _real_table(weed: SeaweedFS, namespace: str) -> Any:
    """``namespace.events`` read through SeaweedFS's own catalog, past any proxy."""
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog(
        "check",
        **{
            "type": "rest",
            "uri": weed.catalog_uri,
            "warehouse": weed.warehouse,
            "credential": f"{weed.access_key}:{weed.secret_key}",
            "oauth2-server-uri": f"{weed.catalog_uri}/v1/oauth/tokens",
            "s3.endpoint": weed.s3_endpoint,
            "s3.access-key-id": weed.access_key,
            "s3.secret-access-key": weed.secret_key,
            "s3.region": "us-east-1",
            "s3.force-virtual-addressing": "false",
        },
    )
    return catalog.load_table((namespace, "events"))


def _landed(weed: SeaweedFS, namespace: str) -> tuple[int | None, list[int]]:
    """The table's current snapshot and its ids, sorted; ``(None, [])`` when absent or empty."""
    from pyiceberg.exceptions import NoSuchTableError

    try:
        table = _real_table(weed, namespace)
    except NoSuchTableError:
        return None, []
    current = table.current_snapshot()
    if current is None:
        return None, []
    ids: list[int] = table.scan().to_arrow()["id"].to_pylist()
    return int(current.snapshot_id), sorted(ids)


# (a) The catalog is down from the start.


@pytest.mark.parametrize(
    ("catalog", "check_says", "run_says"),
    [
        ("rest", "Connection refused", "Connection refused"),
        ("postgresql", "Connection refused", "Connection refused"),
        ("rest_silent", "timed out", "Read timed out"),
        ("postgresql_silent", "timed out", "timeout expired"),
    ],
)
def test_catalog_down_fails_check_and_run(
    tmp_path: Path, catalog: str, check_says: str, run_says: str
) -> None:
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        if catalog.endswith("_silent"):
            dead.listen(16)  # the kernel accepts connections; nothing ever answers
        port = dead.getsockname()[1]
        if catalog.startswith("rest"):
            header = (
                f"catalog: {{type: rest, uri: 'http://127.0.0.1:{port}', warehouse: warehouse, "
                "credential: 'id:secret', properties: {floe.request-timeout-seconds: '1'}}\n"
            )
        else:
            uri = f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{port}/test"
            header = f"catalog: {{type: sql, uri: '{uri}', warehouse: wh}}\n"
        _add_rows(tmp_path, 1, 10)
        # a connection to a silent PostgreSQL gives up after 10 s; opening the catalog tries twice
        _project(tmp_path, header, "bronze", retries=0 if catalog == "postgresql_silent" else 1)

        check = _floe(tmp_path, "ingest", "check")
        assert check.returncode == 1, check.stdout + check.stderr
        [line] = [line for line in check.stdout.splitlines() if line.startswith("catalog ")]
        assert "unhealthy" in line
        assert check_says in line
        assert "Traceback" not in check.stdout + check.stderr

        started = time.monotonic()
        run = _floe(tmp_path, "ingest", "run", "--json")
        assert time.monotonic() - started < 60
    assert run.returncode == 1, run.stderr[-3000:]
    source = _summary(run)
    assert source["status"] == "failed"
    assert source["error_category"] == "transient"
    assert source["error"].startswith(
        "source 'events' (sql_database) -> bronze.*: destination failed: "
    )
    assert run_says in source["error"]
    assert "Traceback" not in run.stdout + run.stderr
    assert f"x events: {source['error']}\n" in run.stderr


# (b) The catalog goes away mid-load.


class _CutOnLoad:
    """Forward until the load touches the table, then drop every connection."""

    def __init__(self, table_path: str) -> None:
        self.table_path = table_path
        self.cut = threading.Event()

    def __call__(self, method: str, path: str) -> Decision:
        if path.split("?")[0].endswith(self.table_path):
            self.cut.set()
        return CLOSE if self.cut.is_set() else FORWARD


@pytest.mark.parametrize("fault", ["commit_refused", "connections_cut"])
def test_catalog_lost_mid_load_keeps_the_last_snapshot(
    tmp_path: Path, seaweedfs: SeaweedFS, fault: str
) -> None:
    namespace = f"cat_{uuid.uuid4().hex[:8]}"
    secret = {"S3_SECRET": seaweedfs.secret_key}
    with FaultProxy(seaweedfs.catalog_uri) as proxy:
        _project(
            tmp_path, seaweedfs.floe_header(f"state-{namespace}", catalog_uri=proxy.url), namespace
        )
        _add_rows(tmp_path, 1, 100)
        first = _floe(tmp_path, "ingest", "run", "--json", env=secret)
        assert first.returncode == 0, first.stderr[-3000:]
        before = _landed(seaweedfs, namespace)
        assert before[1] == list(range(1, 101))

        _add_rows(tmp_path, 101, 200)
        table_path = f"/namespaces/{namespace}/tables/events"
        if fault == "commit_refused":
            proxy.policy = lambda method, path: (
                CATALOG_503 if method == "POST" and path.endswith(table_path) else FORWARD
            )
        else:
            proxy.policy = _CutOnLoad(table_path)
        failed = _floe(tmp_path, "ingest", "run", "--json", env=secret)
        assert failed.returncode == 1, failed.stderr[-3000:]
        source = _summary(failed)
        assert source["error_category"] == "transient"
        assert source["error"].startswith(f"source 'events' (sql_database) -> {namespace}.*: ")
        assert "Traceback" not in failed.stdout + failed.stderr
        assert any(seen.decision != FORWARD for seen in proxy.seen), "no fault was injected"

        assert _landed(seaweedfs, namespace) == before

        proxy.policy = forward_all
        rerun = _floe(tmp_path, "ingest", "run", "--json", env=secret)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert _summary(rerun)["rows_loaded"] == 100  # the rows the failed load left to land
    assert _landed(seaweedfs, namespace)[1] == list(range(1, 201))


def test_commit_whose_answer_is_lost_lands_once(tmp_path: Path, seaweedfs: SeaweedFS) -> None:
    """The catalog applies the commit but its answer never arrives: the load id recorded in the
    snapshot stops the retry from committing the rows a second time."""
    namespace = f"lost_{uuid.uuid4().hex[:8]}"
    secret = {"S3_SECRET": seaweedfs.secret_key}
    with FaultProxy(seaweedfs.catalog_uri) as proxy:
        _project(
            tmp_path, seaweedfs.floe_header(f"state-{namespace}", catalog_uri=proxy.url), namespace
        )
        _add_rows(tmp_path, 1, 100)
        first = _floe(tmp_path, "ingest", "run", "--json", env=secret)
        assert first.returncode == 0, first.stderr[-3000:]

        _add_rows(tmp_path, 101, 200)
        table_path = f"/namespaces/{namespace}/tables/events"
        proxy.policy = lambda method, path: (
            LOSE_ANSWER if method == "POST" and path.endswith(table_path) else FORWARD
        )
        second = _floe(tmp_path, "ingest", "run", "--json", env=secret)
        assert second.returncode == 0, second.stderr[-3000:]  # the load job's retry recovers
        assert [seen.decision for seen in proxy.seen if seen.decision != FORWARD] == [LOSE_ANSWER]
    assert len(_real_table(seaweedfs, namespace).metadata.snapshots) == 2  # one per load
    assert _landed(seaweedfs, namespace)[1] == list(range(1, 201))


# (c) S3 answers 503 to data-file uploads mid-load.


class _FailUploadsAfter:
    """Let ``allowed`` data-file uploads under ``prefix`` through, answer 503 to the rest."""

    def __init__(self, prefix: str, allowed: int) -> None:
        self.prefix = prefix
        self.allowed = allowed
        self.forwarded = 0
        self.failed = 0
        self._lock = threading.Lock()

    def __call__(self, method: str, path: str) -> Decision:
        if method != "PUT" or not path.startswith(self.prefix):
            return FORWARD
        with self._lock:
            if self.forwarded < self.allowed:
                self.forwarded += 1
                return FORWARD
            self.failed += 1
            return S3_503


@pytest.mark.parametrize("load", ["first", "second"])
def test_s3_errors_mid_load_commit_nothing(tmp_path: Path, seaweedfs: SeaweedFS, load: str) -> None:
    namespace = f"s3_{uuid.uuid4().hex[:8]}"
    secret = {"S3_SECRET": seaweedfs.secret_key}
    with FaultProxy(seaweedfs.s3_endpoint) as proxy:
        # The catalog may vend its own s3.endpoint with a table, which would override the
        # client's; s3.proxy-uri is never vended, so pyiceberg's S3 traffic reaches the proxy.
        header = seaweedfs.floe_header(
            f"state-{namespace}", properties=f"s3.proxy-uri: '{proxy.url}'"
        )
        _project(tmp_path, header, namespace)
        _add_rows(tmp_path, 1, 100)
        if load == "second":
            first = _floe(tmp_path, "ingest", "run", "--json", env=secret)
            assert first.returncode == 0, first.stderr[-3000:]
            with _real_table(seaweedfs, namespace).transaction() as tx:
                # small data files, so the next load uploads several
                tx.set_properties({"write.target-file-size-bytes": "1000"})
            _add_rows(tmp_path, 101, 200)
        before = _landed(seaweedfs, namespace)
        assert before[1] == (list(range(1, 101)) if load == "second" else [])

        policy = _FailUploadsAfter(
            f"/{seaweedfs.warehouse.removeprefix('s3://')}/{namespace}/events/data/",
            allowed=1 if load == "second" else 0,
        )
        proxy.policy = policy
        failed = _floe(tmp_path, "ingest", "run", "--json", env=secret)
        assert failed.returncode == 1, failed.stderr[-3000:]
        assert policy.forwarded == policy.allowed, "the load stopped before the first upload"
        assert policy.failed > 0, "no data file upload was refused"
        source = _summary(failed)
        assert source["status"] == "failed"
        # Not partial: nothing was committed. (pyarrow raises S3 errors as a plain OSError that
        # carries no status, so a 503 there is not told apart from a 403: it is "permanent".)
        assert source["error_category"] in ("transient", "permanent")
        assert source["error"].startswith(f"source 'events' (sql_database) -> {namespace}.*: ")
        assert "Traceback" not in failed.stdout + failed.stderr

        assert _landed(seaweedfs, namespace) == before

        proxy.policy = forward_all
        rerun = _floe(tmp_path, "ingest", "run", "--json", env=secret)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert _summary(rerun)["rows_loaded"] == 100  # the rows the failed load left to land
    assert _landed(seaweedfs, namespace)[1] == list(range(1, 201 if load == "second" else 101))


# (d) `floe ingest check` asks S3 itself, not only the catalog.


def test_check_reports_s3_apart_from_the_catalog(tmp_path: Path, seaweedfs: SeaweedFS) -> None:
    secret = {"S3_SECRET": seaweedfs.secret_key}
    _add_rows(tmp_path, 1, 10)
    _project(tmp_path, seaweedfs.floe_header("state-check"), "checked")
    healthy = _floe(tmp_path, "ingest", "check", env=secret)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "s3 answers for s3://" in healthy.stdout

    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        dead_s3 = f"http://127.0.0.1:{dead.getsockname()[1]}"
        header = seaweedfs.floe_header("state-check").replace(seaweedfs.s3_endpoint, dead_s3)
        _project(tmp_path, header, "checked")
        down = _floe(tmp_path, "ingest", "check", env=secret)

    assert down.returncode == 1
    rows = {line.split()[0]: line for line in down.stdout.splitlines() if line.strip()}
    assert "healthy" in rows["catalog"].split()
    assert "unhealthy" in rows["storage"].split()
    assert "Traceback" not in down.stdout + down.stderr
    assert seaweedfs.secret_key not in down.stdout + down.stderr
