"""The Iceberg job against a table another tool made, a write the table refuses, an answer lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from floe_dlt_destination_iceberg import writer
from floe_dlt_destination_iceberg.client import FloeIcebergLoadJob
from floe_ingestion_dlt.errors import DestinationWriteError
from floe_testing.fixtures.databases import SourceDb
from floe_testing.fixtures.ingestion import FloeProject
from pyiceberg.catalog.sql import SqlCatalog

ROWS = 500


def _other_tool(floe_project: FloeProject) -> SqlCatalog:
    """The project's catalog, opened by another tool (pyiceberg itself)."""
    spec = floe_project.plugin().settings.catalog
    Path(spec.warehouse).mkdir(parents=True, exist_ok=True)
    return SqlCatalog(spec.name, uri=spec.uri, warehouse=Path(spec.warehouse).as_uri())


def _events_project(floe_project: FloeProject, table_schema: pa.Schema) -> Any:
    """A SQLite events table to load, and ``bronze.events`` already made with ``table_schema``."""
    floe_project.sqlite_events(ROWS)
    catalog = _other_tool(floe_project)
    catalog.create_namespace("bronze")
    return catalog.create_table("bronze.events", schema=table_schema)


def test_loads_into_a_table_another_tool_made(floe_project: FloeProject) -> None:
    table = _events_project(floe_project, pa.schema([("id", pa.int64()), ("name", pa.string())]))

    run = floe_project.run()

    assert run.rows_loaded == ROWS
    assert sorted(table.refresh().scan().to_arrow()["id"].to_pylist()) == list(range(ROWS))


def test_a_table_that_refuses_the_write_fails_at_once_and_stays_as_it_was(
    floe_project: FloeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _events_project(floe_project, pa.schema([("id", pa.string()), ("name", pa.int32())]))
    writes = 0
    write = FloeIcebergLoadJob._write

    def counted(self: FloeIcebergLoadJob) -> None:
        nonlocal writes
        writes += 1
        write(self)

    monkeypatch.setattr(FloeIcebergLoadJob, "_write", counted)

    with pytest.raises(DestinationWriteError) as failed:
        floe_project.run()

    assert failed.value.category == "permanent"
    assert (
        "SchemaRefusedError: table events: column id cannot change from string to long; "
        "column name cannot change from int to string"
    ) in str(failed.value)
    assert writes == 1  # refused once is refused for good: not retried
    assert table.refresh().metadata.snapshots == []


def test_an_unreadable_commit_answer_is_retried_and_lands_once(
    floe_project: FloeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    floe_project.sqlite_events(ROWS)
    append = writer.append
    answers = 0

    def garbled_first_answer(table: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal answers
        append(table, *args, **kwargs)
        answers += 1
        if answers == 1:  # the commit is applied; what came back cannot be read
            raise json.JSONDecodeError("Unterminated string", '{"metadata-location": "s3://', 28)

    monkeypatch.setattr(writer, "append", garbled_first_answer)

    run = floe_project.run()

    assert run.rows_loaded == ROWS
    assert sorted(floe_project.read("bronze.events")["id"].to_pylist()) == list(range(ROWS))
    assert floe_project.snapshots("bronze.events") == 1


def test_a_partly_committed_append_is_finished_later_without_duplicates(
    floe_project: FloeProject, sqlite_db: SourceDb
) -> None:
    sqlite_db.execute(
        "CREATE TABLE good (id INTEGER PRIMARY KEY)",
        *(f"INSERT INTO good VALUES ({i})" for i in range(3)),
        "CREATE TABLE bad (id INTEGER PRIMARY KEY)",
        "INSERT INTO bad VALUES (1)",
    )
    floe_project.write(
        f"""
        retry: {{max_retries: 0}}
        ingestion:
          sources:
            - name: two
              type: sql_database
              config: {{credentials: "{sqlite_db.url}", tables: [good, bad], cursor_field: id}}
              destination: {{namespace: bronze, write_mode: append}}
        """
    )
    catalog = _other_tool(floe_project)
    catalog.create_namespace("bronze")
    catalog.create_table("bronze.bad", schema=pa.schema([("id", pa.string())]))

    with pytest.raises(DestinationWriteError) as failed:
        floe_project.run()

    assert failed.value.category == "partial"
    assert "the next run finishes it once the cause is fixed" in str(failed.value)
    assert floe_project.read("bronze.good")["id"].to_pylist() == [0, 1, 2]
    catalog.purge_table("bronze.bad")  # the cause, fixed

    floe_project.run()

    assert sorted(floe_project.read("bronze.good")["id"].to_pylist()) == [0, 1, 2]
    assert floe_project.read("bronze.bad")["id"].to_pylist() == [1]


def test_a_creator_killed_while_writing_the_first_metadata_file_leaves_nothing_to_trip_on(
    floe_project: FloeProject,
) -> None:
    floe_project.sqlite_events(ROWS)
    warehouse = Path(floe_project.plugin().settings.catalog.warehouse)
    # what a run killed inside create_table leaves: the table's first metadata file, begun and
    # never finished, and no catalog entry
    metadata = warehouse / "bronze" / "events" / "metadata"
    metadata.mkdir(parents=True)
    (metadata / "00000-0b3a4c52-5e7a-4d0e-9d4b-1f2a3b4c5d6e.metadata.json").write_bytes(b"")

    run = floe_project.run()

    assert run.rows_loaded == ROWS
    assert sorted(floe_project.read("bronze.events")["id"].to_pylist()) == list(range(ROWS))
    assert floe_project.snapshots("bronze.events") == 1
