"""Each private pyiceberg name the destination uses still exists and still does its job.

A failure here names the private name a pyiceberg upgrade changed; see
``floe_dlt_destination_iceberg._pyiceberg_adapter``.
"""

from __future__ import annotations

import importlib
import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from floe_dlt_destination_iceberg import _pyiceberg_adapter as adapter
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table

SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("name", pa.string())])


@pytest.fixture
def table(tmp_path: Path) -> Table:
    catalog = SqlCatalog(
        "t", uri=f"sqlite:///{tmp_path / 'c.db'}", warehouse=(tmp_path / "w").as_uri()
    )
    catalog.create_namespace("n")
    return catalog.create_table("n.t", schema=SCHEMA)


@pytest.mark.parametrize("name", adapter.PRIVATE_NAMES)
def test_the_private_name_exists(name: str) -> None:
    module_name, _, attribute = name.rpartition(".")
    try:
        owner: object = importlib.import_module(module_name)
    except ImportError:  # Class.method
        module_name, _, class_name = module_name.rpartition(".")
        owner = getattr(importlib.import_module(module_name), class_name)
    declared = getattr(owner, "__annotations__", {})  # an instance attribute it declares
    assert hasattr(owner, attribute) or attribute in declared, (
        f"pyiceberg no longer has {name}: update the adapter"
    )


def test_data_files_are_written_and_committed_in_one_snapshot(table: Table) -> None:
    rows = pa.table({"id": [1, 2, 3], "name": ["a", "b", None]}, schema=SCHEMA)
    with (
        table.transaction() as tx,
        tx.update_snapshot().fast_append() as producer,
    ):
        adapter.check_schema_compatible(tx.table_metadata, rows.schema)
        for data_file in adapter.data_files(tx.table_metadata, rows, table.io, uuid.uuid4()):
            producer.append_data_file(data_file)

    table.refresh()
    assert sorted(table.scan().to_arrow()["id"].to_pylist()) == [1, 2, 3]
    assert len(table.metadata.snapshots) == 1


def test_streamed_data_files_roll_at_the_target_size_and_read_back_with_their_statistics(
    table: Table,
) -> None:
    import itertools

    from floe_testing.duckdb_reader import read_iceberg
    from pyiceberg.conversions import from_bytes
    from pyiceberg.types import LongType

    chunks = [
        pa.table(
            {"id": list(range(i, i + 1_000)), "name": [f"n{j:05d}" for j in range(i, i + 1_000)]}
        )
        for i in range(0, 10_000, 1_000)
    ]
    with table.transaction() as tx:  # two and a half chunks to a file
        tx.set_properties({"write.target-file-size-bytes": str(chunks[0].nbytes * 5 // 2)})
    with (
        table.transaction() as tx,
        tx.update_snapshot().fast_append() as producer,
    ):
        written = list(
            adapter.streamed_data_files(
                tx.table_metadata, iter(chunks), table.io, uuid.uuid4(), itertools.count()
            )
        )
        for data_file in written:
            producer.append_data_file(data_file)

    # files roll at the target size, splitting the chunk that crosses it
    counts = [f.record_count for f in written]
    assert len(counts) == 4
    assert sum(counts) == 10_000
    assert all(2_490 <= count <= 2_510 for count in counts)
    id_field = table.schema().find_field("id").field_id
    bounds: list[tuple[int, int]] = [
        (
            int(from_bytes(LongType(), f.lower_bounds[id_field])),
            int(from_bytes(LongType(), f.upper_bounds[id_field])),
        )
        for f in written
    ]
    assert bounds[0][0] == 0
    assert bounds[-1][1] == 9_999
    assert all(low == high + 1 for (_, high), (low, _) in itertools.pairwise(bounds))
    table.refresh()
    assert sorted(table.scan().to_arrow()["id"].to_pylist()) == list(range(10_000))
    assert table.scan(row_filter="id >= 9500").to_arrow().num_rows == 500  # pruned by bounds
    read = read_iceberg(table.metadata_location, "SELECT count(*) AS n, sum(id) AS s FROM t")
    assert read.to_pylist() == [{"n": 10_000, "s": sum(range(10_000))}]


def test_an_incompatible_schema_is_refused_naming_the_column(table: Table) -> None:
    wrong = pa.schema([pa.field("id", pa.string()), pa.field("name", pa.string())])

    with pytest.raises(ValueError, match="id"):
        adapter.check_schema_compatible(table.metadata, wrong)


def test_replace_files_commits_a_replace_snapshot_with_the_same_rows(table: Table) -> None:
    for start in (0, 3):
        table.append(pa.table({"id": [start, start + 1, start + 2], "name": ["a", "b", "c"]}))
    old = [task.file for task in table.scan().plan_files()]
    rows = table.scan().to_arrow().sort_by("id")

    with table.transaction() as tx, adapter.replace_files(tx, table.io, {"k": "v"}) as producer:
        for data_file in old:
            producer.delete_data_file(data_file)
        for data_file in adapter.data_files(tx.table_metadata, rows, table.io, uuid.uuid4()):
            producer.append_data_file(data_file)

    table.refresh()
    current = table.current_snapshot()
    assert current is not None
    summary = current.summary
    assert summary is not None
    assert (summary.operation.value, summary["k"], summary["total-records"]) == (
        "replace",
        "v",
        "6",
    )
    assert len(list(table.scan().plan_files())) == 1
    assert table.scan().to_arrow().sort_by("id").equals(rows)


def test_expire_snapshot_ids_expires_them_and_never_a_branch_head(table: Table) -> None:
    for start in range(3):
        table.append(pa.table({"id": [start], "name": ["a"]}, schema=SCHEMA))
    first, second, head = (s.snapshot_id for s in table.metadata.snapshots)

    adapter.expire_snapshot_ids(table, [first, second, head])

    table.refresh()
    assert [s.snapshot_id for s in table.metadata.snapshots] == [head]
    assert sorted(table.scan().to_arrow()["id"].to_pylist()) == [0, 1, 2]


def test_replace_files_rewrites_a_manifest_keeping_its_other_files(table: Table) -> None:
    """Two of a manifest's three files replaced: the third stays live, once, as existing; the
    entries the caller read before are reused, and the rows read by pyiceberg and DuckDB."""
    from floe_testing.duckdb_reader import read_iceberg

    parts = [pa.table({"id": [i, i + 10], "name": ["a", "b"]}, schema=SCHEMA) for i in range(3)]
    with table.transaction() as tx, tx.update_snapshot().fast_append() as producer:
        for part in parts:
            for data_file in adapter.data_files(tx.table_metadata, part, table.io, uuid.uuid4()):
                producer.append_data_file(data_file)
    table.refresh()
    [manifest] = table.current_snapshot().manifests(table.io)  # type: ignore[union-attr]
    entries = {manifest.manifest_path: manifest.fetch_manifest_entry(table.io)}
    by_first_id = {
        int.from_bytes(e.data_file.lower_bounds[1], "little"): e.data_file
        for e in entries[manifest.manifest_path]
    }
    rows = pa.concat_tables(parts[:2])

    with (
        adapter.CachedTransaction(table) as tx,
        adapter.replace_files(tx, table.io, {}, entries) as producer,
    ):
        producer.delete_data_file(by_first_id[0])
        producer.delete_data_file(by_first_id[1])
        for data_file in adapter.data_files(tx.table_metadata, rows, table.io, uuid.uuid4()):
            producer.append_data_file(data_file)

    table.refresh()
    summary = table.current_snapshot().summary  # type: ignore[union-attr]
    assert summary is not None
    assert (summary["deleted-data-files"], summary["added-data-files"]) == ("2", "1")
    live = [task.file.file_path for task in table.scan().plan_files()]
    assert len(live) == len(set(live)) == 2
    assert by_first_id[2].file_path in live
    expected = [0, 1, 2, 10, 11, 12]
    assert sorted(table.scan().to_arrow()["id"].to_pylist()) == expected
    duck = read_iceberg(table.metadata_location.removeprefix("file://"))
    assert sorted(duck["id"].to_pylist()) == expected


def test_cached_transaction_follows_each_staged_change(table: Table) -> None:
    tx = adapter.CachedTransaction(table)
    first = tx.table_metadata
    assert tx.table_metadata is first  # computed once
    tx.set_properties({"k": "v"})
    assert tx.table_metadata.properties["k"] == "v"
    tx.commit_transaction()
    assert table.refresh().properties["k"] == "v"


def test_avro_schemas_are_resolved_once_and_read_the_same(table: Table) -> None:
    """Manifests of two tables with different partition types (so different Avro schemas) read
    the same entries with the per-process cache as without it."""
    from pyiceberg.avro import file as avro_file

    other = table.catalog.create_table("n.by_name", schema=SCHEMA)
    with other.update_spec() as spec:
        spec.add_identity("name")
    for t in (table, other):
        t.append(pa.table({"id": [1, 2], "name": ["a", "b"]}, schema=SCHEMA))

    def entries(t: Table) -> list[tuple[str, object, int]]:
        snapshot = t.refresh().current_snapshot()
        assert snapshot is not None
        found = [
            (e.data_file.file_path, e.data_file.partition, e.data_file.record_count)
            for m in snapshot.manifests(t.io)
            for e in m.fetch_manifest_entry(t.io)
        ]
        return sorted(found, key=lambda row: row[0])

    before = [entries(table), entries(other)]
    adapter.cache_avro_schemas()
    adapter.cache_avro_schemas()  # idempotent
    assert [entries(table), entries(other)] == before
    assert [row[1] for row in before[1]] != [row[1] for row in before[0]]
    assert avro_file.AvroFileHeader.get_schema.__wrapped__  # type: ignore[attr-defined]
    reader = avro_file.resolve_reader  # type: ignore[attr-defined]
    assert reader(table.schema(), table.schema()) is reader(table.schema(), table.schema())


def test_evolved_schema_is_computed_without_a_commit(table: Table) -> None:
    metadata = table.metadata_location
    evolved = adapter.evolved_schema(table, pa.schema([pa.field("note", pa.string())]))
    assert [f.name for f in evolved.fields] == ["id", "name", "note"]
    table.refresh()
    assert table.metadata_location == metadata
    assert [f.name for f in table.schema().fields] == ["id", "name"]
