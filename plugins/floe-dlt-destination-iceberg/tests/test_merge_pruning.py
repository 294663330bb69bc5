"""A merge into a partitioned table reads only the partitions that can hold its keys, when the
partition is computed from a key column; a partition on another column prunes nothing (the old
version of a row may be in another partition). Rows checked with pyiceberg and DuckDB."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from floe_dlt_destination_iceberg import writer
from floe_testing.duckdb_reader import read_iceberg
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.conversions import from_bytes
from pyiceberg.table import Table
from pyiceberg.transforms import BucketTransform
from pyiceberg.types import LongType

DAY = datetime(2026, 1, 1)
SCHEMA = pa.schema(
    [("id", pa.int64()), ("region", pa.string()), ("updated_at", pa.timestamp("us"))]
)


def make_table(tmp_path: Path, *partition_by: tuple[str, str, str]) -> Table:
    catalog = SqlCatalog(
        "t", uri=f"sqlite:///{tmp_path / 'c.db'}", warehouse=(tmp_path / "w").as_uri()
    )
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.items", schema=SCHEMA)
    with table.update_spec() as spec:
        for column, transform, name in partition_by:
            spec.add_field(column, transform, name)
    return table


def rows(ids: list[int], day: int, region: str | None = None) -> pa.Table:
    return pa.table(
        {
            "id": ids,
            "region": [region or ("eu" if i % 2 else "us") for i in ids],
            "updated_at": [DAY + timedelta(days=day)] * len(ids),
        },
        schema=SCHEMA,
    )


def load_spread(table: Table) -> None:
    """Four appends, each of ids spread over 0..399 (append ``n``: ids ``4k + n``, day ``n``):
    every data file's key bounds hold almost every key, so the bounds rule out nothing."""
    for n in range(4):
        writer.append(table, ds.dataset(rows(list(range(n, 400, 4)), n)), {})


def merge(table: Table, incoming: pa.Table, keys: list[str], load_id: str) -> dict[str, str]:
    """Merge by ``keys`` (upsert); the summary of the one snapshot it committed."""
    before = len(table.refresh().metadata.snapshots)
    properties = {writer.LOAD_ID_PROPERTY: load_id}
    writer.merge(table, ds.dataset(incoming), keys, "upsert", properties)
    table.refresh()
    assert len(table.metadata.snapshots) == before + 1
    summary = table.current_snapshot().summary  # type: ignore[union-attr]
    assert summary is not None
    assert summary[writer.LOAD_ID_PROPERTY] == load_id
    return dict(summary.additional_properties)


def both_readers(table: Table) -> dict[tuple[int, str], datetime]:
    """``(id, region) -> updated_at`` read by pyiceberg, checked equal to DuckDB's reading."""
    data = table.scan().to_arrow().sort_by([("id", "ascending"), ("region", "ascending")])
    duck = read_iceberg(table.metadata_location.removeprefix("file://"))
    duck = duck.sort_by([("id", "ascending"), ("region", "ascending")])
    assert duck.select(data.column_names).to_pylist() == data.to_pylist()
    result: dict[tuple[int, str], datetime] = {}
    for row in data.to_pylist():
        assert (row["id"], row["region"]) not in result, f"key {row['id']} twice"
        result[(row["id"], row["region"])] = row["updated_at"]
    return result


def files(table: Table) -> list[Any]:
    return [task.file for task in table.scan().plan_files()]


def test_bucket_on_the_key_reads_only_the_buckets_of_incoming_keys(tmp_path: Path) -> None:
    table = make_table(tmp_path, ("id", "bucket[8]", "id_bucket"))
    load_spread(table)
    before = files(table)
    assert len(before) == 32  # 4 appends x 8 buckets
    id_field = table.schema().find_field("id").field_id

    def holds(data_file: Any, key: int) -> bool:
        low = from_bytes(LongType(), data_file.lower_bounds[id_field])
        high = from_bytes(LongType(), data_file.upper_bounds[id_field])
        return bool(low <= key <= high)  # type: ignore[operator]

    # what the key bounds alone leave to read (what a merge read before)
    bounds_only = [f for f in before if any(holds(f, key) for key in (201, 202, 1000))]

    summary = merge(table, rows([201, 202, 1000], 9), ["id"], "m1")

    bucket = BucketTransform(8).transform(LongType())
    hit = {bucket(201), bucket(202), bucket(1000)}
    pruned = [f for f in bounds_only if f.partition[0] in hit]
    assert int(summary[writer.SCANNED_PROPERTY]) == len(pruned)
    assert (len(bounds_only), len(pruned)) == (32, 12)  # files whose keys were read
    # ids 201 and 202 were in two files (appends 1 and 2): those two are rewritten, no other
    assert summary["deleted-data-files"] == "2"
    assert summary["added-data-files"] == str(len(hit))
    data = both_readers(table)
    assert len(data) == 401
    assert data[(201, "eu")] == data[(202, "us")] == data[(1000, "us")] == DAY + timedelta(days=9)
    assert data[(7, "eu")] == DAY + timedelta(days=3)


def test_a_partition_off_the_key_prunes_nothing_and_finds_the_old_row(tmp_path: Path) -> None:
    """``day(updated_at)``: the incoming version of id 5 is of day 9, its old version in the
    partition of day 1; pruning by the incoming rows' partitions would keep both."""
    table = make_table(tmp_path, ("updated_at", "day", "updated_at_day"))
    load_spread(table)
    assert len(files(table)) == 4  # one per day

    summary = merge(table, rows([5, 6, 1000], 9), ["id"], "m1")

    assert summary[writer.SCANNED_PROPERTY] == "4"  # only the key bounds prune here: none
    assert summary["deleted-data-files"] == "2"
    assert summary["added-data-files"] == "3"  # the kept rows of days 1 and 2, and day 9's
    data = both_readers(table)
    assert len(data) == 401
    assert data[(5, "eu")] == data[(6, "us")] == DAY + timedelta(days=9)


@pytest.mark.parametrize("transform", ["identity", "truncate[1]"])
def test_a_partition_on_part_of_a_composite_key(tmp_path: Path, transform: str) -> None:
    """Key ``(region, id)``, partitioned on ``region``: a merge of ``eu`` rows reads only
    ``eu`` files (before, a composite key made every file a candidate)."""
    table = make_table(tmp_path, ("region", transform, "region_part"))
    for n in range(3):
        for region in ("eu", "us", "asia"):
            writer.append(table, ds.dataset(rows(list(range(n, 300, 3)), n, region)), {})
    assert len(files(table)) == 9

    summary = merge(table, rows([4, 5], 7, "eu"), ["region", "id"], "m1")

    assert summary[writer.SCANNED_PROPERTY] == "3"  # the three eu files
    assert summary["deleted-data-files"] == "2"  # ids 4 and 5: appends 1 and 2
    data = both_readers(table)
    assert len(data) == 900
    assert data[(4, "eu")] == data[(5, "eu")] == DAY + timedelta(days=7)
    assert data[(4, "us")] == DAY + timedelta(days=1)
