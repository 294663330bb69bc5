"""Two runs of one source at once: the second refuses; different sources run side by side,
creating one namespace at the same moment; two writers of one table both commit."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROWS = 150_000


def _project(root: Path) -> None:
    with sqlite3.connect(root / "source.db") as db:
        for table in ("a", "b"):
            db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
            db.executemany(
                f"INSERT INTO {table} VALUES (?, ?)", ((i, f"n{i}") for i in range(ROWS))
            )
    sources = "".join(
        f"    - name: src_{t}\n      type: sql_database\n"
        f"      config: {{credentials: 'sqlite:///source.db', tables: [{t}]}}\n"
        f"      destination: {{namespace: bronze}}\n"
        for t in ("a", "b")
    )
    (root / "floe.yaml").write_text(f"ingestion:\n  sources:\n{sources}", encoding="utf-8")


def _run(root: Path, source: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "floe_cli", "ingest", "run", "--source", source, "--json"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
    )


def test_second_run_of_a_source_refuses_and_a_dead_holder_does_not_block(tmp_path: Path) -> None:
    _project(tmp_path)
    lock = tmp_path / ".floe" / "pipelines" / "floe__src_a__bronze.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("a+") as held:  # this test process plays the run in progress
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("pid 4242 on ci")
        held.flush()
        refused = _run(tmp_path, "src_a")
        out, err = refused.communicate(timeout=120)
        assert refused.returncode == 1
        assert "pipeline 'floe__src_a__bronze' is already running (pid 4242 on ci)" in out + err
        assert not (tmp_path / ".floe" / "warehouse" / "bronze" / "a").exists()
    # the holder is gone (its lock released, its note left behind): the next run proceeds
    run = _run(tmp_path, "src_a")
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert json.loads(out)["sources"][0]["rows_loaded"] == ROWS


def test_eight_sources_start_at_once_into_a_new_namespace(tmp_path: Path) -> None:
    """Every run creates the catalog, the namespace ``bronze`` and its table at the same time."""
    sources = 8
    with sqlite3.connect(tmp_path / "source.db") as db:
        for n in range(sources):
            db.execute(f"CREATE TABLE t{n} (id INTEGER PRIMARY KEY, name TEXT)")
            db.executemany(f"INSERT INTO t{n} VALUES (?, ?)", ((i, f"n{i}") for i in range(1000)))
    (tmp_path / "floe.yaml").write_text(
        "ingestion:\n  sources:\n"
        + "".join(
            f"    - name: src_{n}\n      type: sql_database\n"
            f"      config: {{credentials: 'sqlite:///source.db', tables: [t{n}]}}\n"
            f"      destination: {{namespace: bronze}}\n"
            for n in range(sources)
        ),
        encoding="utf-8",
    )
    runs = [_run(tmp_path, f"src_{n}") for n in range(sources)]
    results = [run.communicate(timeout=600) for run in runs]
    for run, (out, err) in zip(runs, results, strict=True):
        assert run.returncode == 0, err
        assert json.loads(out)["sources"][0]["rows_loaded"] == 1000

    from floe_core import compile_spec
    from floe_ingestion_dlt import DltIngestionPlugin

    plugin = DltIngestionPlugin()
    plugin.configure(compile_spec(tmp_path / "floe.yaml"))
    for n in range(sources):
        assert plugin.read_table(f"bronze.t{n}").num_rows == 1000


def test_two_writers_to_one_table_both_commit(tmp_path: Path) -> None:
    for name in ("a", "b"):
        with sqlite3.connect(tmp_path / f"{name}.db") as db:
            db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, src TEXT)")
            db.executemany("INSERT INTO events VALUES (?, ?)", ((i, name) for i in range(ROWS)))
    sources = "".join(
        f"    - name: src_{n}\n      type: sql_database\n"
        f"      config: {{credentials: 'sqlite:///{n}.db', tables: [events]}}\n"
        f"      destination: {{table: bronze.shared}}\n"
        for n in ("a", "b")
    )
    (tmp_path / "floe.yaml").write_text(f"ingestion:\n  sources:\n{sources}", encoding="utf-8")
    runs = [_run(tmp_path, "src_a"), _run(tmp_path, "src_b")]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err

    from floe_core import compile_spec
    from floe_ingestion_dlt import DltIngestionPlugin

    plugin = DltIngestionPlugin()
    plugin.configure(compile_spec(tmp_path / "floe.yaml"))
    sources_seen = plugin.read_table("bronze.shared")["src"].to_pylist()
    assert sources_seen.count("a") == ROWS
    assert sources_seen.count("b") == ROWS
    assert [h["source"] for h in plugin.table_history("bronze.shared")].count("src_a") == 1
