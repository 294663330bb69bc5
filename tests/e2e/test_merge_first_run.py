"""The first run of an incremental merge source into an empty table: appended as it comes, yet
one row per key when a key comes twice, once after a process dies before or after its commit,
and read alike by pyiceberg and DuckDB."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from typing import Any

import pytest
from floe_testing.duckdb_reader import read_iceberg
from floe_testing.fixtures.ingestion import FloeProject

ROWS = 2_000
#: ids that come twice: an older version, then the newer one (later in the table and cursor)
TWICE = (7, 1_500)

#: Runs ``floe ingest run --json``, ending the process (no cleanup, as a kill) right before or
#: right after the Iceberg commit of the first table written.
_DIE = """
import os, sys
from floe_dlt_destination_iceberg import writer
append = writer.append
def dying(*args, **kwargs):
    if sys.argv[1] == "after":
        append(*args, **kwargs)
    os._exit(9)
writer.append = dying
sys.argv = ["floe", "ingest", "run", "--json"]
from floe_cli.main import main
main()
"""


def make_project(project: FloeProject) -> None:
    """``events`` without a primary key constraint, so two rows can share an ``id``."""
    with sqlite3.connect(project.root / "source.db") as db:
        db.execute("CREATE TABLE events (id INTEGER, name TEXT, updated_at TIMESTAMP)")
        db.executemany(
            "INSERT INTO events VALUES (?, ?, ?)",
            ((i, "v1", f"2024-01-01 00:{i // 60 % 60:02}:{i % 60:02}") for i in range(ROWS)),
        )
        db.executemany(
            "INSERT INTO events VALUES (?, 'v2', '2024-02-01 00:00:00')", ((i,) for i in TWICE)
        )
    project.write(
        """
        ingestion:
          sources:
            - name: events
              type: sql_database
              config: {credentials: 'sqlite:///source.db', tables: [events],
                       cursor_field: updated_at}
              destination: {namespace: bronze, write_mode: merge, primary_key: id}
        """
    )


def table(project: FloeProject) -> Any:
    from floe_dlt_destination_iceberg.catalog import open_catalog

    return open_catalog(project.plugin().settings).load_table("bronze.events")


def rows(project: FloeProject) -> dict[int, str]:
    """``id -> name`` as pyiceberg reads it, checked equal to DuckDB's reading (ids once)."""
    current = table(project)
    data = current.scan(selected_fields=("id", "name")).to_arrow().sort_by("id")
    duck = read_iceberg(current.metadata_location, "SELECT id, name FROM t ORDER BY id")
    assert duck.to_pylist() == data.to_pylist()
    ids = data["id"].to_pylist()
    assert len(ids) == len(set(ids)), "a key twice"
    return dict(zip(ids, data["name"].to_pylist(), strict=True))


def expected() -> dict[int, str]:
    return {i: "v2" if i in TWICE else "v1" for i in range(ROWS)}


def test_a_first_merge_with_a_key_twice_keeps_its_last_row(floe_project: FloeProject) -> None:
    make_project(floe_project)
    outcome = floe_project.run()

    assert rows(floe_project) == expected()
    [load_id] = outcome.load_ids
    [snapshot] = table(floe_project).metadata.snapshots
    assert snapshot.summary["floe.load-id"] == load_id
    assert snapshot.summary["floe.rows"] == str(ROWS + len(TWICE))  # both versions came


def test_a_first_merge_without_a_key_twice_is_an_append(floe_project: FloeProject) -> None:
    make_project(floe_project)
    with sqlite3.connect(floe_project.root / "source.db") as db:
        db.execute("DELETE FROM events WHERE name = 'v2'")
    floe_project.run()

    [snapshot] = table(floe_project).metadata.snapshots
    assert snapshot.summary.operation.value == "append"
    assert rows(floe_project) == {i: "v1" for i in range(ROWS)}


@pytest.mark.parametrize("moment", ["before", "after"])
def test_a_first_merge_dying_at_its_commit_lands_once_on_rerun(
    floe_project: FloeProject, moment: str
) -> None:
    make_project(floe_project)
    with sqlite3.connect(floe_project.root / "source.db") as db:
        db.execute("DELETE FROM events WHERE name = 'v2'")  # the load takes the append path
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    died = subprocess.run(
        [sys.executable, "-c", _DIE, moment], cwd=floe_project.root, env=env, check=False
    )
    assert died.returncode == 9

    command = [sys.executable, "-m", "floe_cli", "ingest", "run", "--json"]
    rerun = subprocess.run(
        command, cwd=floe_project.root, env=env, capture_output=True, text=True, check=False
    )

    assert rerun.returncode == 0, rerun.stderr
    assert "finishing the load an earlier run left pending" in rerun.stderr
    summary = json.loads(rerun.stdout)["sources"][0]
    assert summary["tables"] == {"bronze.events": ROWS}
    assert rows(floe_project) == {i: "v1" for i in range(ROWS)}
    [snapshot] = table(floe_project).metadata.snapshots  # one commit, whoever made it
    assert snapshot.summary["floe.load-id"] in summary["load_ids"]
