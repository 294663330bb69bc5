"""Which root rows a load touches, read from real Iceberg tables and Parquet files: the same
answer whether the root table has committed the load already or not."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from floe_dlt_destination_iceberg import nested, writer
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table

SCHEMA = pa.schema([("region", pa.string()), ("id", pa.int64()), ("_dlt_id", pa.string())])
KEYS = ["region", "id"]


@pytest.fixture
def root(tmp_path: Path) -> Table:
    catalog = SqlCatalog(
        "t", uri=f"sqlite:///{tmp_path / 'c.db'}", warehouse=(tmp_path / "w").as_uri()
    )
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.items", schema=SCHEMA)
    before = pa.table(
        {
            "region": ["eu", "eu", "us"],
            "id": [1, 2, 1],
            "_dlt_id": ["old-eu1", "old-eu2", "old-us1"],
        },
        schema=SCHEMA,
    )
    writer.append(table, ds.dataset(before), {writer.LOAD_ID_PROPERTY: "load-1"})
    return table


@pytest.fixture
def incoming(tmp_path: Path) -> list[str]:
    """This load's root rows (delete-insert gives them new row keys): eu/1 again and a new us/2."""
    path = tmp_path / "items.abc.0.parquet"
    rows = {"region": ["eu", "us"], "id": [1, 2], "_dlt_id": ["new-eu1", "new-us2"]}
    pq.write_table(pa.table(rows, schema=SCHEMA), path)
    return [str(path)]


def _touched(root: Table, files: list[str]) -> list[str]:
    return sorted(nested.touched_roots(root, files, KEYS, "_dlt_id", "load-2").to_pylist())


def test_touched_roots_are_the_same_before_and_after_the_root_commits(
    root: Table, incoming: list[str]
) -> None:
    expected = ["new-eu1", "new-us2", "old-eu1"]  # not eu/2 nor us/1: their keys do not come in
    assert _touched(root, incoming) == expected

    writer.merge(
        root, ds.dataset(incoming), KEYS, "delete-insert", {writer.LOAD_ID_PROPERTY: "load-2"}
    )
    root.refresh()
    assert "old-eu1" not in root.scan().to_arrow()["_dlt_id"].to_pylist()

    assert _touched(root, incoming) == expected


def test_inserted_roots_are_those_whose_key_was_not_there(root: Table, incoming: list[str]) -> None:
    inserted = nested.inserted_roots(root, incoming, KEYS, "_dlt_id", "load-2")
    assert inserted.to_pylist() == ["new-us2"]
    writer.merge(
        root, ds.dataset(incoming), KEYS, "insert-only", {writer.LOAD_ID_PROPERTY: "load-2"}
    )
    again = nested.inserted_roots(root.refresh(), incoming, KEYS, "_dlt_id", "load-2")
    assert again.to_pylist() == ["new-us2"]


def test_a_first_load_touches_only_its_own_roots(incoming: list[str]) -> None:
    touched = nested.touched_roots(None, incoming, KEYS, "_dlt_id", "load-1")
    assert sorted(touched.to_pylist()) == ["new-eu1", "new-us2"]
