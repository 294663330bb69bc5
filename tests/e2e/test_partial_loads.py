"""A load one table of which is refused, fixed, then rerun: every row lands once, by either route.

Two SQLite tables in append mode with a cursor; the Iceberg table of the second already exists
with an incompatible column type, so its commit is refused while the first table's commits. The
run fails with category ``partial``; the cause is fixed (that table purged through the catalog);
the next run finishes the load. Run through Dagster (the source's asset job executed in process)
and through ``floe ingest run --json``; the tables are read back with pyiceberg and with DuckDB.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from dagster import DagsterEventType, DagsterInstance
from floe_core.compiler import compile_spec
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
from floe_testing.duckdb_reader import read_iceberg
from floe_testing.fixtures.ingestion import FloeProject
from pyiceberg.catalog.sql import SqlCatalog

FIXED = "the next run finishes it once the cause is fixed"


def _project(project: FloeProject) -> SqlCatalog:
    """Source ``two`` (tables ``good`` with ids 0-2 and ``bad`` with id 1) and ``bronze.bad``
    made beforehand with ``id`` a string; returns the project's catalog, opened by pyiceberg."""
    with sqlite3.connect(project.root / "source.db") as db:
        db.execute("CREATE TABLE good (id INTEGER PRIMARY KEY, name TEXT)")
        db.executemany("INSERT INTO good VALUES (?, ?)", ((i, f"g{i}") for i in range(3)))
        db.execute("CREATE TABLE bad (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO bad VALUES (1, 'b1')")
    project.write(
        """
        ingestion:
          sources:
            - name: two
              type: sql_database
              config: {credentials: "sqlite:///source.db", tables: [good, bad], cursor_field: id}
              destination: {namespace: bronze, write_mode: append}
        """
    )
    spec = project.plugin().settings.catalog
    Path(spec.warehouse).mkdir(parents=True, exist_ok=True)
    catalog = SqlCatalog(spec.name, uri=spec.uri, warehouse=Path(spec.warehouse).as_uri())
    catalog.create_namespace("bronze")
    catalog.create_table("bronze.bad", schema=pa.schema([("id", pa.string())]))
    return catalog


def _dagster_run(project: FloeProject, instance: DagsterInstance) -> dict[str, Any]:
    """The job ``ingest_two`` executed in process: success, failure metadata, rows per table."""
    defs = DagsterOrchestratorPlugin().create_definitions(compile_spec(project.file))
    job = defs.resolve_job_def("ingest_two")
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    found: dict[str, Any] = {"success": result.success, "tables": {}}
    for event in result.all_events:
        if event.event_type is DagsterEventType.STEP_UP_FOR_RETRY:
            found["retried"] = True
        if event.event_type is DagsterEventType.ASSET_MATERIALIZATION:
            metadata = event.step_materialization_data.materialization.metadata
            table = str(metadata["destination_table"].value)
            found["tables"][table] = metadata["rows_loaded"].value
        if event.event_type is DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            assert data.user_failure_data is not None
            metadata = data.user_failure_data.metadata
            found["error_category"] = metadata["error_category"].value
            found["attempts"] = metadata["attempts"].value
            found["error"] = data.error.message if data.error is not None else ""
    return found


def _cli_run(project: FloeProject) -> dict[str, Any]:
    """``floe ingest run --json``: success (exit 0) and the source's summary."""
    run = subprocess.run(
        [sys.executable, "-m", "floe_cli", "ingest", "run", "--json"],
        cwd=project.root, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-3000:]
    summary: dict[str, Any] = json.loads(run.stdout)["sources"][0]
    return {**summary, "success": run.returncode == 0}


def _ids(catalog: SqlCatalog, table: str) -> tuple[list[int], list[int]]:
    """The table's ids as pyiceberg reads them and as DuckDB reads them."""
    loaded = catalog.load_table(table)
    by_pyiceberg = loaded.scan().to_arrow()["id"].to_pylist()
    by_duckdb = read_iceberg(loaded.metadata_location, "SELECT id FROM t")["id"].to_pylist()
    return sorted(by_pyiceberg), sorted(by_duckdb)


@pytest.mark.parametrize("route", ["dagster", "cli"])
def test_a_partly_committed_load_is_finished_once_by_the_next_run(
    floe_project: FloeProject, route: str
) -> None:
    catalog = _project(floe_project)
    with DagsterInstance.ephemeral() as instance:

        def run() -> dict[str, Any]:
            return (
                _dagster_run(floe_project, instance)
                if route == "dagster"
                else _cli_run(floe_project)
            )

        failed = run()
        assert not failed["success"]
        assert failed["error_category"] == "partial"
        assert FIXED in failed["error"]
        assert failed["attempts"] == 1  # a partial load is not retried
        assert "retried" not in failed
        assert _ids(catalog, "bronze.good") == ([0, 1, 2], [0, 1, 2])

        catalog.purge_table("bronze.bad")  # the cause, fixed
        rerun = run()

    assert rerun["success"], rerun
    assert _ids(catalog, "bronze.good") == ([0, 1, 2], [0, 1, 2])
    assert _ids(catalog, "bronze.bad") == ([1], [1])
    assert rerun["tables"]["bronze.bad"] == 1
    assert not list((floe_project.root / ".floe" / "pipelines").glob("*/load/normalized/*"))
