"""Compaction keeps a table's layout: one file per partition, under the spec the files had, rows
in the table's sort order, the same rows (pyiceberg and DuckDB)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from floe_core.spec import CompactSpec, MaintenanceSpec
from floe_dlt_destination_iceberg.compaction import plan_compaction
from floe_dlt_destination_iceberg.maintenance import maintain_table, table_stats
from floe_testing.duckdb_reader import read_iceberg
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.sorting import NullOrder, SortDirection, SortField, SortOrder
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import LongType, NestedField, StringType

SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=False),
    NestedField(2, "region", StringType(), required=False),
)
COMPACT_ONLY = MaintenanceSpec(compact=CompactSpec(min_input_files=2), expire_snapshots=None,
                               remove_orphan_files=None)  # fmt: skip


@pytest.fixture
def table(tmp_path: Path) -> Table:
    catalog = SqlCatalog(
        "t", uri=f"sqlite:///{tmp_path / 'c.db'}", warehouse=(tmp_path / "w").as_uri()
    )
    catalog.create_namespace("n")
    table = catalog.create_table(
        "n.t",
        schema=SCHEMA,
        partition_spec=PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "region")),
        sort_order=SortOrder(
            SortField(1, IdentityTransform(), SortDirection.DESC, NullOrder.NULLS_LAST)
        ),
    )
    for start in range(0, 40, 10):  # four appends, each into both partitions
        ids = list(range(start, start + 10))
        table.append(
            pa.table(
                {
                    "id": pa.array(ids, pa.int64()),
                    "region": ["eu" if i % 2 else "us" for i in ids],
                }
            )
        )
    return table


def _rows(table: Table) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = table.scan().to_arrow().sort_by("id").to_pylist()
    return rows


def test_compaction_keeps_partitions_sort_order_and_rows(table: Table) -> None:
    rows = _rows(table)
    assert table_stats(table, "n.t").data_files == 8

    report = maintain_table(table, "n.t", COMPACT_ONLY)

    table.refresh()
    files = [task.file for task in table.scan().plan_files()]
    assert (report.data_files_before, report.data_files_after, len(files)) == (8, 2, 2)
    assert sorted(f.partition[0] for f in files) == ["eu", "us"]
    for data_file in files:
        ids = pq.read_table(data_file.file_path.removeprefix("file://"))["id"].to_pylist()
        assert ids == sorted(ids, reverse=True)  # the table's sort order: id desc
    assert _rows(table) == rows
    by_duckdb = read_iceberg(table.metadata_location, "SELECT id, region FROM t ORDER BY id")
    assert by_duckdb.to_pylist() == rows
    assert table_stats(table, "n.t").partitions == 2


def test_a_partition_below_min_input_files_is_left_alone(table: Table) -> None:
    plan = plan_compaction(table, CompactSpec(min_input_files=5))

    assert plan.bins == []  # four small files per partition


def test_dry_run_changes_nothing(table: Table) -> None:
    before = table.metadata_location

    report = maintain_table(table, "n.t", COMPACT_ONLY, dry_run=True)

    table.refresh()
    assert (report.data_files_before, report.data_files_after) == (8, 2)
    assert report.compaction == "would rewrite 8 files into 2"
    assert table.metadata_location == before
