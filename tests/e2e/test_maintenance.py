"""Table maintenance on real catalogs (SQLite, PostgreSQL, REST on S3): every step keeps the
rows, as pyiceberg and DuckDB read them; a load concurrent with compaction loses nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from typing import Any

import pyarrow.compute as pc
from floe_core.spec import CompactSpec, MaintenanceSpec
from floe_testing.duckdb_reader import read_iceberg
from floe_testing.fixtures.ingestion import FloeProject

COLUMNS = ("id", "name")
ONLY = {"compact": None, "expire_snapshots": None, "remove_orphan_files": None}


def table_name(project: FloeProject) -> str:
    """The table of the project's source: its own namespace, as catalogs on PostgreSQL and
    REST are shared by the tests of a session."""
    return f"m_{project.root.name.lower()[-12:].replace('-', '_')}.events"


def make_project(project: FloeProject, maintenance: str = "") -> None:
    """An incremental source ``events`` (empty so far) into the project's own namespace."""
    with sqlite3.connect(project.root / "source.db") as db:
        db.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, name TEXT)")
    project.write(
        f"""
        ingestion:
          sources:
            - name: events
              type: sql_database
              config: {{credentials: 'sqlite:///source.db', tables: [events], cursor_field: id}}
              destination: {{namespace: {table_name(project).split(".")[0]}}}
        {maintenance}
        """
    )


def load(project: FloeProject, start: int, rows: int = 50) -> Any:
    """Add ``rows`` source rows from id ``start`` and load them (one append snapshot)."""
    with sqlite3.connect(project.root / "source.db") as db:
        db.executemany(
            "INSERT INTO events VALUES (?, ?)", ((i, f"e{i}") for i in range(start, start + rows))
        )
    return project.run()


def open_table(project: FloeProject) -> Any:
    from floe_dlt_destination_iceberg.catalog import open_catalog

    return open_catalog(project.plugin().settings).load_table(table_name(project))


def both_readers(table: Any, snapshot_id: int | None = None) -> list[dict[str, Any]]:
    """The table's rows read by pyiceberg, after checking DuckDB reads exactly the same."""
    from pyiceberg.io.fsspec import FsspecFileIO

    scan = table.scan(selected_fields=COLUMNS, snapshot_id=snapshot_id)
    by_pyiceberg: list[dict[str, Any]] = scan.to_arrow().sort_by("id").to_pylist()
    filesystem = None
    if table.metadata_location.startswith("s3://"):
        filesystem = FsspecFileIO(table.io.properties).get_fs("s3")
        filesystem.invalidate_cache()
    version = f", snapshot_from_id => {snapshot_id}" if snapshot_id is not None else ""
    location = table.metadata_location.removeprefix("file://")
    by_duckdb = read_iceberg(
        table.metadata_location,
        f"SELECT {', '.join(COLUMNS)} FROM iceberg_scan('{location}'{version}) ORDER BY id",
        filesystem=filesystem,
    ).to_pylist()
    assert by_duckdb == by_pyiceberg
    return by_pyiceberg


def maintain(project: FloeProject, **policy: Any) -> Any:
    """Run one maintenance step (the others off) on bronze.events through the destination."""
    from floe_ingestion_dlt.plugins import get_destination_type

    spec = MaintenanceSpec.model_validate({**ONLY, **policy})
    report = get_destination_type().maintain(project.plugin().settings, table_name(project), spec)
    assert report.ok, report.error
    return report


def exists(table: Any, path: str) -> bool:
    return bool(table.io.new_input(path).exists())


def test_every_step_keeps_the_rows_and_time_travel_still_works(
    floe_project_each_catalog: FloeProject,
) -> None:
    project = floe_project_each_catalog
    make_project(project)
    for start in range(0, 200, 50):
        load(project, start)
    table = open_table(project)
    rows = both_readers(table)
    assert [r["id"] for r in rows] == list(range(200))
    before = table.current_snapshot().snapshot_id
    small = [task.file.file_path for task in table.scan().plan_files()]

    report = maintain(project, compact={"min_input_files": 2})
    table = open_table(project)
    assert (report.data_files_before, report.data_files_after) == (4, 1)
    assert table.current_snapshot().summary.operation.value == "replace"
    assert both_readers(table) == rows
    assert both_readers(table, snapshot_id=before) == rows  # time travel to before compaction

    report = maintain(project, expire_snapshots={"older_than": "0s", "retain_last": 2})
    table = open_table(project)
    assert report.snapshots_expired == 3
    assert before in {s.snapshot_id for s in table.metadata.snapshots}
    assert len(table.metadata.snapshots) == 2
    assert both_readers(table) == rows
    assert both_readers(table, snapshot_id=before) == rows  # retained: still readable
    assert all(exists(table, path) for path in small)

    report = maintain(project, expire_snapshots={"older_than": "0s", "retain_last": 1})
    table = open_table(project)
    assert report.snapshots_expired == 1
    assert len(table.metadata.snapshots) == 1
    assert not any(exists(table, path) for path in small)  # only expired snapshots had them
    assert both_readers(table) == rows

    stray = f"{table.location()}/data/stray-from-a-failed-write.parquet"
    with table.io.new_output(stray).create() as out:
        out.write(b"not referenced by anything")
    assert maintain(project, remove_orphan_files={"older_than": "1h"}).orphan_files_removed == 0
    assert exists(table, stray)  # younger than the threshold
    time.sleep(1.5)
    assert maintain(project, remove_orphan_files={"older_than": "1s"}).orphan_files_removed == 1
    assert not exists(table, stray)
    assert both_readers(open_table(project)) == rows


def test_a_load_committing_during_compaction_loses_nothing(
    floe_project_each_catalog: FloeProject,
) -> None:
    from floe_dlt_destination_iceberg.compaction import plan_compaction

    project = floe_project_each_catalog
    make_project(project)
    for start in range(0, 150, 50):
        load(project, start)
    table = open_table(project)
    plan = plan_compaction(table, CompactSpec(min_input_files=2))
    plan.write()  # compaction has rewritten the files; its commit is next

    load(project, 150)  # meanwhile a load commits to the same table

    assert plan.commit() == "compacted"
    table = open_table(project)
    assert [r["id"] for r in both_readers(table)] == list(range(200))
    assert len(list(table.scan().plan_files())) == 2  # the compacted file and the load's


def test_compaction_gives_up_cleanly_when_a_concurrent_commit_rewrote_its_files(
    floe_project: FloeProject,
) -> None:
    from floe_dlt_destination_iceberg.compaction import plan_compaction
    from pyiceberg.expressions import EqualTo

    make_project(floe_project)
    for start in range(0, 150, 50):
        load(floe_project, start)
    table = open_table(floe_project)
    plan = plan_compaction(table, CompactSpec(min_input_files=2))
    plan.write()
    written = [f.file_path for b in plan.bins for f in b.written]

    open_table(floe_project).delete(
        EqualTo(term="id", value=0)
    )  # rewrites one of the files being compacted

    assert plan.commit() == "gave up: a concurrent commit rewrote the files; nothing changed"
    table = open_table(floe_project)
    assert [r["id"] for r in both_readers(table)] == list(range(1, 150))
    assert table.current_snapshot().summary.operation.value != "replace"
    assert not any(exists(table, path) for path in written)


def test_after_load_maintains_the_tables_a_load_committed(floe_project: FloeProject) -> None:
    make_project(
        floe_project,
        "maintenance: {compact: {min_input_files: 2}, after_load: true,\n"
        "              expire_snapshots: {older_than: 0s, retain_last: 1}}",
    )
    first = load(floe_project, 0)
    second = load(floe_project, 50)

    assert [r.compaction for r in first.maintenance] == ["nothing to compact"]
    [report] = second.maintenance
    assert (report.table, report.compaction, report.ok) == (
        table_name(floe_project),
        "compacted",
        True,
    )
    assert second.rows_loaded == 50
    table = open_table(floe_project)
    assert len(list(table.scan().plan_files())) == 1
    assert len(table.metadata.snapshots) == 1
    assert [r["id"] for r in both_readers(table)] == list(range(100))


def test_a_source_overrides_the_project_policy(floe_project: FloeProject) -> None:
    make_project(floe_project, "maintenance: {compact: {min_input_files: 2}}")
    text = floe_project.file.read_text(encoding="utf-8").replace(
        "type: sql_database",
        "type: sql_database\n      maintenance: {compact: {min_input_files: 3}}",
    )
    floe_project.file.write_text(text, encoding="utf-8")
    for start in (0, 50):
        load(floe_project, start)

    [report] = floe_project.plugin().maintain([table_name(floe_project)])

    assert report.compaction == "nothing to compact"  # two files: below the source's three


def test_orphans_of_a_killed_load_are_removed_after_the_threshold_not_before(
    floe_project: FloeProject,
) -> None:
    """A load SIGKILLed while writing its data files leaves them unreferenced: they are kept
    while younger than the threshold (a running load's files look the same), removed after."""
    make_project(floe_project)
    rows = 20_000
    with sqlite3.connect(floe_project.root / "source.db") as db:
        db.executemany(
            "INSERT INTO events VALUES (?, ?)", ((i, f"{i:08d}" * 125) for i in range(rows))
        )
    namespace = table_name(floe_project).split(".")[0]
    data = floe_project.root / ".floe" / "warehouse" / namespace / "events" / "data"
    process = subprocess.Popen(
        [sys.executable, "-m", "floe_cli", "ingest", "run"],
        cwd=floe_project.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
    )
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if data.is_dir() and any(data.glob("*.parquet")):
            process.send_signal(signal.SIGKILL)  # the Iceberg write has started
            break
        time.sleep(0.001)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    table = open_table(floe_project)
    assert table.current_snapshot() is None  # killed before its commit
    left = sorted(data.glob("*.parquet"))
    assert left

    kept = maintain(floe_project, remove_orphan_files={"older_than": "1h"})
    assert kept.orphan_files_removed == 0
    assert sorted(data.glob("*.parquet")) == left
    time.sleep(2.1)
    removed = maintain(floe_project, remove_orphan_files={"older_than": "2s"})
    assert removed.orphan_files_removed >= len(left)
    assert not any(path.exists() for path in left)

    floe_project.run()  # the rerun lands every row once
    table = open_table(floe_project)
    ids = table.scan(selected_fields=("id",)).to_arrow()["id"]
    assert (len(ids), pc.count_distinct(ids).as_py()) == (rows, rows)
    location = table.metadata_location.removeprefix("file://")
    counted = read_iceberg(location, "SELECT count(*) AS n, count(DISTINCT id) AS d FROM t")
    assert counted.to_pylist() == [{"n": rows, "d": rows}]
