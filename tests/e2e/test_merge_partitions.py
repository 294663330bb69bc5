"""Merged loads into partitioned tables through floe: a table bucketed on its key reads only the
bucket of an updated row; a table partitioned on a column that changes with the row still finds
the row's old version in its old partition. One snapshot per load, carrying the load id; rows
read by pyiceberg and DuckDB."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

import pytest
from floe_testing.duckdb_reader import read_iceberg
from floe_testing.fixtures.ingestion import FloeProject

START = datetime(2024, 1, 1)


def make_project(project: FloeProject, partition_by: str) -> None:
    """400 rows, ``at`` spread over 4 days, merged on ``id`` incrementally by ``at``."""
    with sqlite3.connect(project.root / "source.db") as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, at TIMESTAMP, name TEXT)")
        db.executemany(
            "INSERT INTO events VALUES (?, ?, ?)",
            ((i, (START + timedelta(minutes=14 * i)).isoformat(sep=" "), "v1") for i in range(400)),
        )
    project.write(
        f"""
        ingestion:
          sources:
            - name: events
              type: sql_database
              config: {{credentials: 'sqlite:///source.db', tables: [events], cursor_field: at}}
              destination: {{namespace: bronze, write_mode: merge, primary_key: id,
                             partition_by: {partition_by}}}
        """
    )


def update(project: FloeProject, ids: list[int]) -> None:
    """Rows ``ids`` get a new name and a later ``at`` (a day none of them had)."""
    with sqlite3.connect(project.root / "source.db") as db:
        later = (START + timedelta(days=9)).isoformat(sep=" ")
        db.executemany(
            "UPDATE events SET name = 'v2', at = ? WHERE id = ?", ((later, i) for i in ids)
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


def low(data_file: Any) -> int:
    return int.from_bytes(data_file.lower_bounds[1], "little", signed=True)


def high(data_file: Any) -> int:
    return int.from_bytes(data_file.upper_bounds[1], "little", signed=True)


def merged(project: FloeProject) -> dict[str, str]:
    """Run the source; the summary of the one snapshot the load committed."""
    outcome = project.run()
    [load_id] = outcome.load_ids
    snapshots = [
        s for s in table(project).metadata.snapshots if s.summary.get("floe.load-id") == load_id
    ]
    assert len(snapshots) == 1
    return dict(snapshots[0].summary.additional_properties)


@pytest.mark.parametrize(
    ("partition_by", "scanned"),
    [("['bucket(4, id)']", "1"), ("['day(at)']", "1")],
    ids=["bucket-of-key", "day-of-a-changing-column"],
)
def test_a_merge_reads_the_files_that_can_hold_its_keys(
    floe_project: FloeProject, partition_by: str, scanned: str
) -> None:
    make_project(floe_project, partition_by)
    merged(floe_project)
    files = [task.file for task in table(floe_project).scan().plan_files()]
    assert len(files) == 4  # 4 buckets, or 4 days
    holding = sum(1 for f in files if low(f) <= 200 <= high(f))
    assert holding == (4 if "bucket" in partition_by else 1)  # what the key bounds leave

    update(floe_project, [200])
    summary = merged(floe_project)

    # bucketed on id: only the bucket of id 200 is read (the bounds alone would read all 4);
    # by day: id 200's old version is in the second day's partition, the new one in day 10's,
    # so the incoming row's partition says nothing: the key bounds find the second day's file
    assert summary["floe.merge-files-scanned"] == scanned
    assert (summary["deleted-data-files"], summary["floe.rows"]) == ("1", "1")
    data = rows(floe_project)
    assert len(data) == 400
    assert (data[200], data[199], data[201]) == ("v2", "v1", "v1")
