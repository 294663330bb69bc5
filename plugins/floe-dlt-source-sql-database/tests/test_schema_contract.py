"""Schema contracts: evolve adds columns, freeze rejects them atomically, discard_value drops them."""

from __future__ import annotations

import pytest
from floe_ingestion_dlt import ErrorCategory, SchemaContractViolation
from floe_testing.fixtures.databases import SourceDb
from floe_testing.fixtures.ingestion import FloeProject


def _setup(project: FloeProject, db: SourceDb, contract: str) -> str:
    db.execute(
        f"CREATE TABLE {db.table} (id INTEGER PRIMARY KEY, name TEXT, updated_at TIMESTAMP)",
        f"INSERT INTO {db.table} VALUES (1, 'a', '2024-01-01 00:00:00')",
        f"INSERT INTO {db.table} VALUES (2, 'b', '2024-01-01 00:00:01')",
    )
    project.write(
        f"""
        ingestion:
          sources:
            - name: src
              type: sql_database
              config: {{credentials: "{db.url}", tables: [{db.table}], cursor_field: updated_at}}
              destination: {{namespace: bronze, schema_contract: {contract}}}
        """
    )
    assert project.run().rows_loaded == 2
    db.execute(
        f"ALTER TABLE {db.table} ADD COLUMN extra TEXT",
        f"INSERT INTO {db.table} VALUES (3, 'c', '2024-01-02 00:00:00', 'surprise')",
    )
    return f"bronze.{db.table}"


def test_evolve_adds_the_new_column(
    floe_project_each_catalog: FloeProject, sqlite_db: SourceDb
) -> None:
    table = _setup(floe_project_each_catalog, sqlite_db, "evolve")
    assert floe_project_each_catalog.run().rows_loaded == 1
    landed = floe_project_each_catalog.read(table).sort_by("id")
    assert "extra" in landed.column_names
    assert landed["extra"].to_pylist() == [None, None, "surprise"]


def test_freeze_rejects_and_leaves_the_table_unchanged(
    floe_project_each_catalog: FloeProject, sqlite_db: SourceDb
) -> None:
    table = _setup(floe_project_each_catalog, sqlite_db, "freeze")
    snapshots = floe_project_each_catalog.snapshots(table)

    with pytest.raises(SchemaContractViolation) as caught:
        floe_project_each_catalog.run()
    error = caught.value
    assert error.category is ErrorCategory.PERMANENT
    assert error.source_type == "sql_database"
    assert error.pipeline_name
    assert "extra" in str(error)
    landed = floe_project_each_catalog.read(table)
    assert landed.num_rows == 2
    assert "extra" not in landed.column_names
    assert floe_project_each_catalog.snapshots(table) == snapshots

    # Conforming data loads on the next run, including the row rejected before.
    sqlite_db.execute(
        f"ALTER TABLE {sqlite_db.table} DROP COLUMN extra",
        f"INSERT INTO {sqlite_db.table} VALUES (4, 'd', '2024-01-03 00:00:00')",
    )
    assert floe_project_each_catalog.run().rows_loaded == 2
    assert sorted(floe_project_each_catalog.read(table)["id"].to_pylist()) == [1, 2, 3, 4]


def test_discard_value_drops_the_new_columns_values(
    floe_project_each_catalog: FloeProject, sqlite_db: SourceDb
) -> None:
    table = _setup(floe_project_each_catalog, sqlite_db, "discard_value")
    assert floe_project_each_catalog.run().rows_loaded == 1
    landed = floe_project_each_catalog.read(table).sort_by("id")
    assert landed["id"].to_pylist() == [1, 2, 3]
    assert "extra" not in landed.column_names or landed["extra"].null_count == 3
