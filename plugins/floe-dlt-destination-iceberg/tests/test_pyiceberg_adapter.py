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
