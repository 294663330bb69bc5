"""floe's Iceberg writes: one snapshot per table per load, merges restricted to touched files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from floe_dlt_destination_iceberg import writer
from floe_testing.fixtures.databases import SourceDb
from floe_testing.fixtures.ingestion import FloeProject
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table
from pyiceberg.types import DoubleType


@pytest.fixture
def table(tmp_path: Path) -> Table:
    catalog = SqlCatalog(
        "t", uri=f"sqlite:///{tmp_path / 'c.db'}", warehouse=(tmp_path / "w").as_uri()
    )
    catalog.create_namespace("ns")
    schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
    return catalog.create_table("ns.items", schema=schema)


def rows(ids: range, name: str = "v1") -> ds.Dataset:
    return ds.dataset(pa.table({"id": list(ids), "name": [f"{name}-{i}" for i in ids]}))


def current(table: Table) -> dict[int, str]:
    data = table.refresh().scan().to_arrow()
    return dict(zip(data["id"].to_pylist(), data["name"].to_pylist(), strict=True))


def small_files(table: Table) -> None:
    """Data files of about 4 MB of Arrow data (pyiceberg's default is 512 MiB)."""
    with table.transaction() as tx:
        tx.set_properties({"write.target-file-size-bytes": "4000000"})


def test_append_writes_chunk_by_chunk_into_one_snapshot(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "_CHUNK_BYTES", 1_000_000)
    small_files(table)
    writer.append(table, rows(range(600_000)), {writer.LOAD_ID_PROPERTY: "l1"})
    table.refresh()
    assert len(table.metadata.snapshots) == 1
    files = list(table.scan().plan_files())
    # ~13 MB of Arrow data read in ~1 MB chunks, written on as they came into files that
    # rolled over at the target size: neither one file nor one per chunk
    assert 3 <= len(files) <= 5
    assert len({task.file.file_path for task in files}) == len(files)
    ids = table.scan().to_arrow()["id"]
    assert ids.length() == 600_000
    assert len(set(ids.to_pylist())) == 600_000
    assert sum(task.file.record_count for task in files) == 600_000
    assert writer.committed_load(table, "l1")
    assert not writer.committed_load(table, "l2")


def test_merge_rewrites_only_files_holding_incoming_keys(table: Table) -> None:
    for start in range(0, 400, 100):  # four data files with disjoint key ranges
        writer.append(table, rows(range(start, start + 100)), {})
    before = len(table.refresh().metadata.snapshots)
    incoming = pa.table({"id": [150, 151, 1000, 1000], "name": ["new", "new", "first", "last"]})
    writer.merge(table, ds.dataset(incoming), ["id"], "upsert", {writer.LOAD_ID_PROPERTY: "m"})

    table.refresh()
    assert len(table.metadata.snapshots) == before + 1
    summary = table.current_snapshot().summary  # type: ignore[union-attr]
    assert summary is not None
    assert summary["deleted-data-files"] == "1"
    assert summary[writer.LOAD_ID_PROPERTY] == "m"
    data = current(table)
    assert len(data) == 401
    assert (data[150], data[151], data[1000]) == ("new", "new", "last")
    assert data[149] == "v1-149"
    assert data[399] == "v1-399"


def test_delete_insert_keeps_every_incoming_row(table: Table) -> None:
    writer.append(table, rows(range(10)), {})
    incoming = pa.table({"id": [3, 3], "name": ["a", "b"]})
    writer.merge(table, ds.dataset(incoming), ["id"], "delete-insert", {})
    data = table.refresh().scan().to_arrow()
    assert data.num_rows == 11
    assert sorted(
        n for i, n in zip(data["id"].to_pylist(), data["name"].to_pylist(), strict=True) if i == 3
    ) == ["a", "b"]


def test_insert_only_never_updates(table: Table) -> None:
    writer.append(table, rows(range(5)), {})
    incoming = pa.table({"id": [1, 7], "name": ["changed", "new"]})
    writer.merge(table, ds.dataset(incoming), ["id"], "insert-only", {})
    data = current(table)
    assert data[1] == "v1-1"
    assert data[7] == "new"
    assert len(data) == 6


def test_composite_keys(table: Table) -> None:
    writer.append(table, rows(range(5)), {})
    incoming = pa.table({"id": [2], "name": ["v1-2"]})
    writer.merge(table, ds.dataset(incoming), ["id", "name"], "upsert", {})
    assert len(current(table)) == 5
    assert table.refresh().scan().to_arrow().num_rows == 5


def test_replace_is_one_commit(table: Table) -> None:
    writer.append(table, rows(range(50)), {})
    writer.replace(table, rows(range(7), "v2"), {writer.LOAD_ID_PROPERTY: "r"})
    assert current(table) == {i: f"v2-{i}" for i in range(7)}


def test_loads_record_lineage_and_one_snapshot_per_table(
    floe_project: FloeProject, sqlite_db: SourceDb
) -> None:
    sqlite_db.execute(f"CREATE TABLE {sqlite_db.table} (id INTEGER PRIMARY KEY, name TEXT)")
    sqlite_db.execute(
        f"INSERT INTO {sqlite_db.table} VALUES (:id, :name)",
        params=[{"id": i, "name": f"n{i}"} for i in range(1, 3001)],
    )
    floe_project.write(
        f"""
        ingestion:
          sources:
            - name: lineage
              type: sql_database
              config: {{credentials: "{sqlite_db.url}", tables: [{sqlite_db.table}], chunk_size: 500}}
              destination: {{namespace: bronze, write_mode: merge, primary_key: id}}
        """
    )
    floe_project.run()
    sqlite_db.execute(f"UPDATE {sqlite_db.table} SET name = 'x' WHERE id <= 1500")
    floe_project.run()
    history = floe_project.plugin().table_history(f"bronze.{sqlite_db.table}")
    assert len(history) == 2
    assert [h["source"] for h in history] == ["lineage", "lineage"]
    assert all(h["load_id"] for h in history)
    assert history[1]["pipeline"] == "floe__lineage__bronze"
    names = floe_project.read(f"bronze.{sqlite_db.table}")["name"].to_pylist()
    assert len(names) == 3000
    assert names.count("x") == 1500


def test_a_type_change_iceberg_cannot_promote_fails_and_keeps_the_table(
    floe_project: FloeProject, sqlite_db: SourceDb
) -> None:
    from floe_ingestion_dlt import DestinationWriteError, ErrorCategory

    _load_then_recreate(
        floe_project,
        sqlite_db,
        first=("id INTEGER PRIMARY KEY, v INTEGER", "(1, 1), (2, 2)"),
        then=("id INTEGER PRIMARY KEY, v TEXT", "(3, 'three')"),
    )
    with pytest.raises(DestinationWriteError) as caught:
        floe_project.run()
    assert f"table {sqlite_db.table}: column v cannot change from long to string" in str(
        caught.value
    )
    assert caught.value.category is ErrorCategory.PERMANENT
    table = floe_project.read(f"bronze.{sqlite_db.table}")
    assert sorted(table["v"].to_pylist()) == [1, 2]


def test_a_load_failing_after_another_table_committed_is_partial(
    floe_project: FloeProject, sqlite_db: SourceDb
) -> None:
    from floe_ingestion_dlt import DestinationWriteError, ErrorCategory

    sqlite_db.execute(
        "CREATE TABLE good (id INTEGER PRIMARY KEY)",
        "INSERT INTO good VALUES (1)",
        "CREATE TABLE bad (id INTEGER PRIMARY KEY, v INTEGER)",
        "INSERT INTO bad VALUES (1, 1)",
    )
    floe_project.write(
        f"""
        retry: {{max_retries: 0}}
        ingestion:
          sources:
            - name: two
              type: sql_database
              config: {{credentials: "{sqlite_db.url}", tables: [good, bad]}}
              destination: {{namespace: bronze, write_mode: replace}}
        """
    )
    floe_project.run()
    sqlite_db.execute(
        "DROP TABLE bad",
        "CREATE TABLE bad (id INTEGER PRIMARY KEY, v TEXT)",
        "INSERT INTO bad VALUES (2, 'two')",
    )
    with pytest.raises(DestinationWriteError) as caught:
        floe_project.run()
    assert caught.value.category is ErrorCategory.PARTIAL
    assert floe_project.snapshots("bronze.good") > 1
    assert floe_project.read("bronze.bad")["v"].to_pylist() == [1]


def test_columns_the_source_stops_sending_are_kept(
    floe_project: FloeProject, sqlite_db: SourceDb
) -> None:
    _load_then_recreate(
        floe_project,
        sqlite_db,
        first=("id INTEGER PRIMARY KEY, keep TEXT, gone TEXT", "(1, 'k1', 'g1')"),
        then=("id INTEGER PRIMARY KEY, keep TEXT", "(2, 'k2')"),
    )
    floe_project.run()
    rows = sorted(floe_project.read(f"bronze.{sqlite_db.table}").to_pylist(), key=lambda r: r["id"])
    assert rows == [
        {"id": 1, "keep": "k1", "gone": "g1"},
        {"id": 2, "keep": "k2", "gone": None},
    ]


def _load_then_recreate(
    project: FloeProject, db: SourceDb, first: tuple[str, str], then: tuple[str, str]
) -> None:
    """Load a one-table source, then recreate the source table with other columns and rows."""
    db.execute(f"CREATE TABLE {db.table} ({first[0]})", f"INSERT INTO {db.table} VALUES {first[1]}")
    project.write(
        f"""
        retry: {{max_retries: 0}}
        ingestion:
          sources:
            - name: reshaped
              type: sql_database
              config: {{credentials: "{db.url}", tables: [{db.table}]}}
              destination: {{namespace: bronze}}
        """
    )
    project.run()
    db.execute(
        f"DROP TABLE {db.table}",
        f"CREATE TABLE {db.table} ({then[0]})",
        f"INSERT INTO {db.table} VALUES {then[1]}",
    )


def test_a_merge_into_an_empty_table_appends_the_load_chunk_by_chunk(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "_CHUNK_BYTES", 1_000_000)
    small_files(table)
    writer.merge(table, rows(range(300_000)), ["id"], "upsert", {writer.LOAD_ID_PROPERTY: "m1"})

    table.refresh()
    [snapshot] = table.metadata.snapshots
    assert snapshot.summary is not None
    assert snapshot.summary.operation.value == "append"
    assert snapshot.summary[writer.LOAD_ID_PROPERTY] == "m1"
    assert writer.committed_load(table, "m1")  # a rerun of the load finds it committed
    assert len(list(table.scan().plan_files())) >= 2  # written as it was read, chunk by chunk
    assert current(table) == {i: f"v1-{i}" for i in range(300_000)}


@pytest.mark.parametrize("strategy", ["upsert", "insert-only"])
def test_duplicate_keys_merged_into_an_empty_table_collapse_to_the_last_row(
    table: Table, strategy: str
) -> None:
    first = pa.table({"id": [1, 2, None, 3], "name": ["a1", "b1", "n1", "c1"]})
    second = pa.table({"id": [2, None, 4], "name": ["b2", "n2", "d1"]})  # a second file
    load = ds.dataset([ds.dataset(first), ds.dataset(second)])
    writer.merge(table, load, ["id"], strategy, {writer.LOAD_ID_PROPERTY: "m"})

    data = table.refresh().scan().to_arrow().sort_by("id")
    assert data.to_pylist() == [
        {"id": 1, "name": "a1"},
        {"id": 2, "name": "b2"},
        {"id": 3, "name": "c1"},
        {"id": 4, "name": "d1"},
        {"id": None, "name": "n2"},
    ]
    assert len(table.metadata.snapshots) == 1


def test_duplicate_composite_keys_into_an_empty_table_collapse(table: Table) -> None:
    incoming = pa.table({"id": [1, 1, 1], "name": ["x", "y", "x"]})
    writer.merge(table, ds.dataset(incoming), ["id", "name"], "upsert", {})
    assert sorted(table.refresh().scan().to_arrow()["name"].to_pylist()) == ["x", "y"]


def test_delete_insert_into_an_empty_table_keeps_every_row(table: Table) -> None:
    incoming = pa.table({"id": [3, 3, 4], "name": ["a", "b", "c"]})
    writer.merge(table, ds.dataset(incoming), ["id"], "delete-insert", {})
    assert table.refresh().scan().to_arrow().num_rows == 3


def test_a_table_emptied_by_a_replace_is_merged_into_as_empty(table: Table) -> None:
    writer.append(table, rows(range(10)), {})
    writer.replace(table, rows(range(0)), {})
    writer.merge(table, rows(range(5), "v2"), ["id"], "upsert", {writer.LOAD_ID_PROPERTY: "m"})
    summary = table.refresh().current_snapshot().summary  # type: ignore[union-attr]
    assert summary is not None
    assert summary.operation.value == "append"
    assert current(table) == {i: f"v2-{i}" for i in range(5)}


@pytest.mark.parametrize(
    ("ids", "names", "expected"),
    [
        ([1, 1, 2], [None, None, None], 2),  # NULL parts of a key are one value
        ([1, 2, 1], ["x", "x", "y"], 3),  # equal in one key column only: distinct keys
        ([None, 1, None], ["x", "x", "x"], 2),
    ],
)
def test_composite_keys_with_nulls_into_an_empty_table(
    table: Table, ids: list[int | None], names: list[str | None], expected: int
) -> None:
    incoming = pa.table({"id": pa.array(ids, pa.int64()), "name": pa.array(names, pa.string())})
    writer.merge(table, ds.dataset(incoming), ["id", "name"], "upsert", {})
    assert table.refresh().scan().to_arrow().num_rows == expected


def test_a_merge_rewrites_files_written_before_the_schema_evolved(table: Table) -> None:
    writer.append(table, rows(range(100)), {})  # written with columns id, name
    with table.update_schema() as update:  # then a column is added and one widened
        update.add_column("score", DoubleType())
    wider = pa.table(
        {"id": [200, 201], "name": ["x", "y"], "score": [0.5, None]},
        schema=pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())]),
    )
    writer.append(table, ds.dataset(wider), {})
    incoming = pa.table({"id": [5, 201], "name": ["new", "new"], "score": [1.5, 2.5]})

    writer.merge(table, ds.dataset(incoming), ["id"], "upsert", {writer.LOAD_ID_PROPERTY: "m"})

    data = table.refresh().scan().to_arrow().sort_by("id")
    assert data.num_rows == 102
    by_id = {r["id"]: (r["name"], r["score"]) for r in data.to_pylist()}
    assert by_id[5] == ("new", 1.5)
    assert by_id[4] == ("v1-4", None)  # kept from the old file, read through its old schema
    assert by_id[200] == ("x", 0.5)
    assert by_id[201] == ("new", 2.5)
    summary = table.current_snapshot().summary  # type: ignore[union-attr]
    assert summary is not None
    assert summary["deleted-data-files"] == "2"


def test_keys_vouched_unique_are_not_searched_for_a_second_row(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    def searched(*args: object) -> bool:
        raise AssertionError("the load was searched for a key twice")

    monkeypatch.setattr(writer, "_has_duplicate_keys", searched)
    monkeypatch.setattr(writer, "_dedupe_last", searched)
    props = {writer.LOAD_ID_PROPERTY: "m1"}
    writer.merge(table, rows(range(100)), ["id"], "upsert", props, keys_unique=True)
    incoming = ds.dataset(pa.table({"id": [5, 500], "name": ["new", "added"]}))
    writer.merge(
        table, incoming, ["id"], "upsert", props | {"floe.load-id": "m2"}, keys_unique=True
    )

    data = current(table)
    assert len(data) == 101
    assert data[5] == "new"
    assert data[500] == "added"


def test_a_merge_reads_the_files_floe_wrote_straight_from_their_row_groups(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer.append(table, rows(range(100)), {})  # strings as Arrow's plain string
    writer.merge(table, ds.dataset(pa.table({"id": [1], "name": ["x"]})), ["id"], "upsert", {})

    def projected(*args: object) -> None:
        raise AssertionError("read through pyiceberg's projection, which reads files ahead")

    monkeypatch.setattr(writer, "file_batches", projected)
    # the files of both writes (large strings after the merge) are read as they are
    incoming = pa.table({"id": [5, 1], "name": ["new", "y"]})
    writer.merge(table, ds.dataset(incoming), ["id"], "upsert", {writer.LOAD_ID_PROPERTY: "m"})

    data = current(table)
    assert len(data) == 100
    assert (data[1], data[5], data[7]) == ("y", "new", "v1-7")
