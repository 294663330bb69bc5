"""Loads through an Iceberg REST catalog that assigns table locations (SeaweedFS), data on S3."""

from __future__ import annotations

import shutil
import uuid

import pytest
from floe_ingestion_dlt import SchemaContractViolation
from floe_testing.fixtures.databases import SourceDb
from floe_testing.fixtures.ingestion import FloeProject
from floe_testing.fixtures.seaweedfs import SeaweedFS


def _project(project: FloeProject, weed: SeaweedFS, db: SourceDb, destination: str) -> str:
    namespace = f"ns_{uuid.uuid4().hex[:8]}"
    project.write(
        f"""
        catalog:
          type: rest
          uri: {weed.catalog_uri}
          warehouse: {weed.warehouse}
          credential: "{weed.access_key}:${{S3_SECRET}}"
        storage:
          s3: {{endpoint: "{weed.s3_endpoint}", access_key_id: {weed.access_key},
                secret_access_key: "${{S3_SECRET}}", region: us-east-1, path_style: true}}
          state_url: s3://{weed.bucket}/floe-state/{namespace}
        ingestion:
          sources:
            - name: src
              type: sql_database
              config: {{credentials: "{db.url}", tables: [{db.table}], cursor_field: updated_at}}
              destination: {{namespace: {namespace}, {destination}}}
        """
    )
    return f"{namespace}.{db.table}"


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch, seaweedfs: SeaweedFS) -> None:
    monkeypatch.setenv("S3_SECRET", seaweedfs.secret_key)


def _rows(db: SourceDb, ids: range, day: int = 1, name: str = "v1") -> None:
    db.execute(
        f"INSERT INTO {db.table} VALUES (:id, :name, :at)",
        params=[{"id": i, "name": f"{name}-{i}", "at": f"2024-01-{day:02d} 00:00:00"} for i in ids],
    )


def _create(db: SourceDb) -> None:
    db.execute(f"CREATE TABLE {db.table} (id INTEGER PRIMARY KEY, name TEXT, updated_at TIMESTAMP)")


def test_incremental_append_and_state_on_s3(
    floe_project: FloeProject, seaweedfs: SeaweedFS, sqlite_db: SourceDb
) -> None:
    _create(sqlite_db)
    _rows(sqlite_db, range(1, 101))
    table = _project(floe_project, seaweedfs, sqlite_db, "write_mode: append")
    assert floe_project.run().rows_loaded == 100
    assert floe_project.run().rows_loaded == 0

    shutil.rmtree(floe_project.root / ".floe")  # local state gone: it is restored from S3
    _rows(sqlite_db, range(101, 111), day=2)
    assert floe_project.run().rows_loaded == 10
    ids = floe_project.read(table)["id"].to_pylist()
    assert sorted(ids) == list(range(1, 111))
    history = floe_project.plugin().table_history(table)
    assert len(history) == 2  # one snapshot per load that brought rows


def test_merge_and_replace(
    floe_project: FloeProject, seaweedfs: SeaweedFS, sqlite_db: SourceDb
) -> None:
    _create(sqlite_db)
    _rows(sqlite_db, range(1, 51))
    table = _project(floe_project, seaweedfs, sqlite_db, "write_mode: merge, primary_key: id")
    floe_project.run()
    sqlite_db.execute(
        f"UPDATE {sqlite_db.table} SET name = 'changed', updated_at = '2024-01-03' WHERE id <= 5"
    )
    _rows(sqlite_db, range(51, 56), day=3)
    assert floe_project.run().rows_loaded == 10
    data = {r["id"]: r["name"] for r in floe_project.read(table).to_pylist()}
    assert len(data) == 55
    assert data[1] == "changed"
    assert data[6] == "v1-6"
    assert len(floe_project.plugin().table_history(table)) == 2


def test_freeze_on_a_rest_catalog(
    floe_project: FloeProject, seaweedfs: SeaweedFS, sqlite_db: SourceDb
) -> None:
    _create(sqlite_db)
    _rows(sqlite_db, range(1, 4))
    table = _project(floe_project, seaweedfs, sqlite_db, "schema_contract: freeze")
    floe_project.run()
    sqlite_db.execute(f"ALTER TABLE {sqlite_db.table} ADD COLUMN extra TEXT")
    sqlite_db.execute(f"INSERT INTO {sqlite_db.table} VALUES (9, 'x', '2024-02-01', 'new')")
    with pytest.raises(SchemaContractViolation):
        floe_project.run()
    assert floe_project.read(table).num_rows == 3
