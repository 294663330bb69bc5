"""Maintenance failing after a load (``after_load: true``): the load stays committed, once, and
is reported a success, not retried; the failure is reported next to it, naming the table, by the
CLI (text and JSON) and by Dagster (metadata and log). The failure is real: the catalog refuses
the maintenance commit."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from typing import Any

from dagster import DagsterInstance, materialize
from floe_core import compile_spec
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
from floe_testing.duckdb_reader import read_iceberg
from floe_testing.fixtures.ingestion import FloeProject

TABLE = "bronze.events"
REFUSED = "commit refused by the catalog"
POLICY = (
    "maintenance: {compact: {min_input_files: 2}, after_load: true,\n"
    "              expire_snapshots: null, remove_orphan_files: null}\n"
)


def make_project(project: FloeProject) -> None:
    """Source ``events`` (incremental on ``id``), loaded once: 50 rows, one data file."""
    project.sqlite_events(50, incremental=True)
    project.file.write_text(project.file.read_text(encoding="utf-8") + POLICY, encoding="utf-8")
    project.run()


def add_rows(project: FloeProject, start: int, rows: int = 50) -> None:
    with sqlite3.connect(project.root / "source.db") as db:
        db.executemany(
            "INSERT INTO events VALUES (?, ?)", ((i, f"e{i}") for i in range(start, start + rows))
        )


def refuse_commits_after(project: FloeProject, allowed: int) -> None:
    """The project's SQL catalog accepts ``allowed`` more table commits, then refuses every one
    (its database aborts the update, as a catalog refusing a writer would); ``-1``: no limit."""
    with sqlite3.connect(project.root / ".floe" / "catalog.db") as db:
        db.executescript(
            f"""
            CREATE TABLE IF NOT EXISTS commit_budget (remaining INTEGER);
            DELETE FROM commit_budget;
            INSERT INTO commit_budget VALUES ({allowed});
            CREATE TRIGGER IF NOT EXISTS refuse_commits BEFORE UPDATE ON iceberg_tables
            WHEN (SELECT remaining FROM commit_budget) >= 0
            BEGIN
              SELECT RAISE(ABORT, '{REFUSED}')
              WHERE (SELECT remaining FROM commit_budget) = 0;
              UPDATE commit_budget SET remaining = remaining - 1;
            END;
            """
        )


def cli(project: FloeProject, *options: str) -> tuple[int, str]:
    run = subprocess.run(
        [sys.executable, "-m", "floe_cli", "ingest", "run", *options],
        cwd=project.root, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
    )  # fmt: skip
    return run.returncode, run.stdout


def table_state(project: FloeProject) -> tuple[list[int], list[Any]]:
    """The table's ids (pyiceberg, checked equal to DuckDB's) and its snapshots."""
    from floe_dlt_destination_iceberg.catalog import open_catalog

    table = open_catalog(project.plugin().settings).load_table(TABLE)
    ids = sorted(table.scan().to_arrow()["id"].to_pylist())
    duck = read_iceberg(table.metadata_location.removeprefix("file://"), "SELECT id FROM t")
    assert sorted(duck["id"].to_pylist()) == ids
    return ids, list(table.metadata.snapshots)


def snapshots_of(snapshots: list[Any], load_id: str) -> int:
    return sum(1 for s in snapshots if s.summary.get("floe.load-id") == load_id)


def test_the_cli_reports_the_load_a_success_and_the_maintenance_failure(
    floe_project: FloeProject,
) -> None:
    make_project(floe_project)
    add_rows(floe_project, 50)
    refuse_commits_after(floe_project, 1)  # the load's commit, not the compaction's

    code, out = cli(floe_project, "--json")

    assert code == 0, out
    [source] = json.loads(out)["sources"]
    assert (source["status"], source["rows_loaded"], source["attempts"]) == ("success", 50, 1)
    [report] = source["maintenance"]
    assert (report["table"], report["status"], report["compaction"]) == (TABLE, "failed", "failed")
    assert report["error"] == (
        f"maintaining {TABLE}: compaction failed: IntegrityError: (sqlite3.IntegrityError) "
        f"{REFUSED}"
    )  # one line: table, step, cause
    ids, snapshots = table_state(floe_project)
    assert ids == list(range(100))  # the load's rows committed
    [load_id] = source["load_ids"]
    assert snapshots_of(snapshots, load_id) == 1  # once: not retried
    assert snapshots[-1].summary.operation.value == "append"  # no compaction committed

    add_rows(floe_project, 100)
    refuse_commits_after(floe_project, 1)
    code, out = cli(floe_project)

    assert code == 0, out
    warning = f"events: warning: maintenance after the load failed: maintaining {TABLE}: "
    assert (
        f"{warning}compaction failed: IntegrityError: (sqlite3.IntegrityError) {REFUSED}\n" in out
    )
    assert table_state(floe_project)[0] == list(range(150))

    refuse_commits_after(floe_project, -1)  # the catalog accepts commits again
    add_rows(floe_project, 150)
    code, out = cli(floe_project, "--json")

    [source] = json.loads(out)["sources"]
    [report] = source["maintenance"]
    assert (code, report["status"], report["compaction"]) == (0, "success", "compacted")
    ids, snapshots = table_state(floe_project)
    assert ids == list(range(200))
    assert snapshots[-1].summary.operation.value == "replace"


def test_dagster_materializes_the_load_and_records_the_maintenance_failure(
    floe_project: FloeProject,
) -> None:
    make_project(floe_project)
    add_rows(floe_project, 50)
    refuse_commits_after(floe_project, 1)
    defs = DagsterOrchestratorPlugin().create_definitions(compile_spec(floe_project.file))

    with DagsterInstance.ephemeral() as instance:
        result = materialize(list(defs.assets or []), resources=defs.resources, instance=instance)  # type: ignore[arg-type]
        logs = [entry.user_message for entry in instance.all_logs(result.run_id)]

    assert result.success  # the step did not fail, so Dagster does not retry it
    [event] = result.get_asset_materialization_events()
    metadata = event.step_materialization_data.materialization.metadata
    assert metadata["rows_loaded"].value == 50
    assert metadata["floe/maintenance"].value == "failed"
    assert TABLE in str(metadata["floe/maintenance_error"].value)
    assert REFUSED in str(metadata["floe/maintenance_error"].value)
    assert any("maintenance after the load failed" in m and TABLE in m for m in logs)
    ids, snapshots = table_state(floe_project)
    assert ids == list(range(100))
    load_id = str(metadata["load_ids"].value)
    assert snapshots_of(snapshots, load_id) == 1
