"""Layout as code: ``partition_by`` and ``sort_by`` shape the table when it is created, evolve it
when they change, and every row stays readable by pyiceberg and DuckDB."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pyarrow.parquet as pq
from floe_testing.duckdb_reader import read_iceberg
from floe_testing.fixtures.ingestion import FloeProject
from pyiceberg.table import Table

START = datetime(2024, 1, 1)


def _project(project: FloeProject, rows: range, layout: str) -> None:
    with sqlite3.connect(project.root / "source.db") as db:
        db.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, at TIMESTAMP)")
        db.executemany(
            "INSERT INTO events VALUES (?, ?)",
            ((i, (START + timedelta(hours=7 * i)).isoformat(sep=" ")) for i in rows),
        )
    project.write(
        f"""
        ingestion:
          sources:
            - name: events
              type: sql_database
              config: {{credentials: 'sqlite:///source.db', tables: [events], cursor_field: id}}
              destination: {{namespace: bronze, {layout}}}
        """
    )


def _table(project: FloeProject) -> Table:
    from floe_dlt_destination_iceberg.catalog import open_catalog

    return open_catalog(project.plugin().settings).load_table("bronze.events")


def _both_readers(project: FloeProject) -> tuple[list[int], list[int]]:
    table = _table(project)
    by_pyiceberg = sorted(table.scan().to_arrow()["id"].to_pylist())
    by_duckdb = sorted(read_iceberg(table.metadata_location, "SELECT id FROM t")["id"].to_pylist())
    return by_pyiceberg, by_duckdb


def test_a_new_table_is_partitioned_and_its_files_sorted(floe_project: FloeProject) -> None:
    _project(floe_project, range(500), "partition_by: ['month(at)'], sort_by: [id desc]")

    floe_project.run()

    table = _table(floe_project)
    [field] = table.spec().fields
    assert (str(field.transform), field.name) == ("month", "at_month")
    [order] = table.sort_order().fields
    assert (table.schema().find_field(order.source_id).name, order.direction.value) == (
        "id",
        "desc",
    )
    files = list(table.scan().plan_files())
    assert len({task.file.partition[0] for task in files}) == 5  # Jan..May 2024
    for task in files:
        ids = pq.read_table(task.file.file_path.removeprefix("file://"))["id"].to_pylist()
        assert ids == sorted(ids, reverse=True)
    assert _both_readers(floe_project) == (list(range(500)), list(range(500)))


def test_a_changed_partition_spec_evolves_the_table(floe_project: FloeProject) -> None:
    _project(floe_project, range(200), "partition_by: ['month(at)']")
    floe_project.run()
    old_files = {task.file.file_path for task in _table(floe_project).scan().plan_files()}

    _project(floe_project, range(200, 300), "partition_by: ['day(at)', 'bucket(4, id)']")
    floe_project.run()

    table = _table(floe_project)
    assert [str(f.transform) for f in table.spec().fields] == ["day", "bucket[4]"]
    assert len(table.specs()) == 2
    files = list(table.scan().plan_files())
    kept = [task for task in files if task.file.file_path in old_files]
    assert {task.file.file_path for task in kept} == old_files  # old files untouched
    assert {task.file.spec_id for task in files if task not in kept} == {table.spec().spec_id}
    assert _both_readers(floe_project) == (list(range(300)), list(range(300)))
