"""NULL stays apart from empty for lists and maps of structs, through appends and merges.

pyiceberg 0.12 alone writes a NULL ``list<struct>`` as an empty list; floe's writer installs
:func:`floe_dlt_destination_iceberg._pyiceberg_adapter.keep_nested_nulls` so it does not. Each table is read back with
pyiceberg and with DuckDB.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from floe_dlt_destination_iceberg import writer
from floe_testing.duckdb_reader import read_iceberg
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table

POINT = pa.struct([("x", pa.int64())])
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("points", pa.list_(POINT)),
        ("named", pa.map_(pa.string(), POINT)),
    ]
)


@pytest.fixture
def table(tmp_path: Path) -> Table:
    catalog = SqlCatalog(
        "t", uri=f"sqlite:///{tmp_path / 'c.db'}", warehouse=(tmp_path / "w").as_uri()
    )
    catalog.create_namespace("ns")
    return catalog.create_table("ns.shapes", schema=SCHEMA)


def _rows(table: Table) -> dict[str, list[dict[str, object]]]:
    table.refresh()
    return {
        "pyiceberg": table.scan().to_arrow().sort_by("id").to_pylist(),
        "duckdb": read_iceberg(table.metadata_location, "SELECT * FROM t ORDER BY id").to_pylist(),
    }


def test_the_projection_methods_floe_wraps_exist() -> None:
    """If this fails, pyiceberg changed ArrowProjectionVisitor: revisit ``keep_nested_nulls``."""
    from floe_dlt_destination_iceberg._pyiceberg_adapter import keep_nested_nulls
    from pyiceberg.io.pyarrow import ArrowProjectionVisitor

    keep_nested_nulls()
    assert hasattr(ArrowProjectionVisitor.list, "__wrapped__")
    assert hasattr(ArrowProjectionVisitor.map, "__wrapped__")


def test_null_and_empty_stay_apart_through_append_and_merge(table: Table) -> None:
    first = pa.Table.from_pylist(
        [
            {"id": 1, "points": None, "named": None},
            {"id": 2, "points": [], "named": []},
            {"id": 3, "points": [{"x": 1}, None], "named": [("a", None)]},
        ],
        schema=SCHEMA,
    )
    writer.append(table, ds.dataset(first), {})
    # the merge rewrites the file holding rows 1-3: rows 1 and 2 are kept as they were
    change = pa.Table.from_pylist([{"id": 3, "points": None, "named": None}], schema=SCHEMA)
    writer.merge(table, ds.dataset(change), ["id"], "upsert", {})

    expected = [
        {"id": 1, "points": None, "named": None},
        {"id": 2, "points": [], "named": []},
        {"id": 3, "points": None, "named": None},
    ]
    for reader, rows in _rows(table).items():
        assert rows == expected, reader
