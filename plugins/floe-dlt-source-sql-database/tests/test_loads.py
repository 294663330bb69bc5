"""Write modes, incremental loads and state recovery, read back from the Iceberg tables."""

from __future__ import annotations

import shutil

import pyarrow.compute as pc
from floe_testing.fixtures.databases import SourceDb
from floe_testing.fixtures.ingestion import FloeProject


def _create(db: SourceDb, rows: int, start: int = 1) -> None:
    db.execute(
        f"CREATE TABLE {db.table} (id INTEGER PRIMARY KEY, name VARCHAR(50), "
        "updated_at TIMESTAMP NULL)"
    )
    _insert(db, rows, start)


def _insert(db: SourceDb, rows: int, start: int, day: int = 1) -> None:
    if rows == 0:
        return
    db.execute(
        f"INSERT INTO {db.table} (id, name, updated_at) VALUES (:id, :name, :updated_at)",
        params=[
            {"id": i, "name": f"row {i}", "updated_at": f"2024-01-{day:02d} 00:00:{i % 60:02d}"}
            for i in range(start, start + rows)
        ],
    )


def _project(project: FloeProject, db: SourceDb, destination: str, cursor: bool = False) -> None:
    cursor_line = ", cursor_field: updated_at" if cursor else ""
    project.write(
        f"""
        ingestion:
          sources:
            - name: src
              type: sql_database
              config: {{credentials: "{db.url}", tables: [{db.table}]{cursor_line}}}
              destination: {destination}
        """
    )


def _ids(project: FloeProject, table: str) -> list[int]:
    return sorted(project.read(f"bronze.{table}")["id"].to_pylist())


def test_append_twice_doubles_the_rows(
    floe_project_each_catalog: FloeProject, sqlite_db: SourceDb
) -> None:
    _create(sqlite_db, 50)
    _project(floe_project_each_catalog, sqlite_db, "{namespace: bronze, write_mode: append}")
    assert floe_project_each_catalog.run().rows_loaded == 50
    assert floe_project_each_catalog.run().rows_loaded == 50
    ids = _ids(floe_project_each_catalog, sqlite_db.table)
    assert len(ids) == 100
    assert set(ids) == set(range(1, 51))


def test_replace_keeps_only_the_last_load(
    floe_project_each_catalog: FloeProject, sqlite_db: SourceDb
) -> None:
    _create(sqlite_db, 30)
    _project(floe_project_each_catalog, sqlite_db, "{namespace: bronze, write_mode: replace}")
    floe_project_each_catalog.run()
    sqlite_db.execute(f"DELETE FROM {sqlite_db.table} WHERE id > 10")
    assert floe_project_each_catalog.run().rows_loaded == 10
    assert _ids(floe_project_each_catalog, sqlite_db.table) == list(range(1, 11))


def test_merge_upserts(floe_project: FloeProject, source_db: SourceDb) -> None:
    _create(source_db, 20)
    _project(floe_project, source_db, "{namespace: bronze, write_mode: merge, primary_key: id}")
    floe_project.run()
    source_db.execute(f"UPDATE {source_db.table} SET name = 'changed' WHERE id IN (3, 4)")
    _insert(source_db, 5, start=21)
    assert floe_project.run().rows_loaded == 25

    table = floe_project.read(f"bronze.{source_db.table}").sort_by("id")
    rows = {row["id"]: row["name"] for row in table.to_pylist()}
    assert len(rows) == table.num_rows == 25
    assert rows[3] == rows[4] == "changed"
    assert rows[5] == "row 5"
    assert rows[25] == "row 25"


def test_incremental_loads_only_new_rows(floe_project: FloeProject, source_db: SourceDb) -> None:
    _create(source_db, 40)
    _project(floe_project, source_db, "{namespace: bronze}", cursor=True)
    assert floe_project.run().rows_loaded == 40
    assert floe_project.run().rows_loaded == 0
    _insert(source_db, 7, start=41, day=2)
    assert floe_project.run().rows_loaded == 7
    assert _ids(floe_project, source_db.table) == list(range(1, 48))


def test_incremental_resumes_from_destination_state(
    floe_project_each_catalog: FloeProject, sqlite_db: SourceDb
) -> None:
    _create(sqlite_db, 25)
    _project(floe_project_each_catalog, sqlite_db, "{namespace: bronze}", cursor=True)
    floe_project_each_catalog.run()
    shutil.rmtree(floe_project_each_catalog.root / ".floe" / "pipelines")
    _insert(sqlite_db, 5, start=26, day=2)

    assert floe_project_each_catalog.run().rows_loaded == 5
    ids = _ids(floe_project_each_catalog, sqlite_db.table)
    assert ids == list(range(1, 31))


def test_empty_table_is_success_with_zero_rows(
    floe_project_each_catalog: FloeProject, sqlite_db: SourceDb
) -> None:
    _create(sqlite_db, 0)
    _project(floe_project_each_catalog, sqlite_db, "{namespace: bronze}")
    run = floe_project_each_catalog.run()
    assert run.ok
    assert run.rows_loaded == 0


def test_single_table_destination(
    floe_project_each_catalog: FloeProject, sqlite_db: SourceDb
) -> None:
    _create(sqlite_db, 12)
    _project(floe_project_each_catalog, sqlite_db, "{table: raw.customers}")
    run = floe_project_each_catalog.run()
    assert run.rows_per_table == {"raw.customers": 12}
    table = floe_project_each_catalog.read("raw.customers")
    assert pc.sum(table["id"]).as_py() == sum(range(1, 13))


def test_merge_and_incremental_on_each_catalog(
    floe_project_each_catalog: FloeProject, sqlite_db: SourceDb
) -> None:
    project = floe_project_each_catalog
    _create(sqlite_db, 30)
    _project(
        project, sqlite_db, "{namespace: bronze, write_mode: merge, primary_key: id}", cursor=True
    )
    assert project.run().rows_loaded == 30
    assert project.run().rows_loaded == 0
    sqlite_db.execute(
        f"UPDATE {sqlite_db.table} SET name = 'changed', updated_at = '2024-02-01' WHERE id <= 3"
    )
    _insert(sqlite_db, 4, start=31, day=3)
    assert project.run().rows_loaded == 7
    rows = {r["id"]: r["name"] for r in project.read(f"bronze.{sqlite_db.table}").to_pylist()}
    assert len(rows) == 34
    assert rows[1] == rows[3] == "changed"
    assert rows[4] == "row 4"
    assert project.snapshots(f"bronze.{sqlite_db.table}") == 2
