"""Types at depth land exactly: NULL stays apart from empty in nested Parquet columns, view and
large Arrow types load, and CSV files whose column types disagree are reconciled or refused.

Every table is read back through the catalog (pyiceberg) and through DuckDB, value by value.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from floe_dlt_source_filesystem.readers import CsvTypeConflictError
from floe_ingestion_dlt import ErrorCategory, IngestionError
from floe_ingestion_dlt.errors import root_cause
from floe_testing.duckdb_reader import read_iceberg
from floe_testing.fixtures.ingestion import FloeProject

if TYPE_CHECKING:
    from conftest import Files

POINT = pa.struct([("x", pa.int64()), ("label", pa.string())])

#: row by row: NULL, empty, values holding NULLs, and nesting of each kind in the others
NESTED = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "ints": pa.array([None, [], [1, None], [2]], pa.list_(pa.int64())),
        "points": pa.array(
            [None, [], [{"x": 1, "label": None}, None], [{"x": 2, "label": "b"}]],
            pa.list_(POINT),
        ),
        "point": pa.array([None, {"x": None, "label": None}, {"x": 3, "label": "c"}, None], POINT),
        "scores": pa.array(
            [None, [], [("a", 1), ("b", None)], [("c", 2)]], pa.map_(pa.string(), pa.int64())
        ),
        "named_points": pa.array(
            [None, [], [("p", {"x": 4, "label": "d"}), ("q", None)], [("r", None)]],
            pa.map_(pa.string(), POINT),
        ),
        "grid": pa.array(
            [None, [[], None], [[{"x": 5, "label": "e"}, None]], [None]],
            pa.list_(pa.list_(POINT)),
        ),
        "shape": pa.array(
            [
                None,
                {"name": None, "points": None},
                {"name": "s", "points": []},
                {"name": "t", "points": [None, {"x": 6, "label": None}]},
            ],
            pa.struct([("name", pa.string()), ("points", pa.list_(POINT))]),
        ),
    }
)

VIEWS = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "name": pa.array(
            ["a", None, "a long text past the inline size of a view"], pa.string_view()
        ),
        "blob": pa.array([b"\x00\x01", None, b""], pa.binary_view()),
        "big_name": pa.array([None, "", "z"], pa.large_string()),
        "big_blob": pa.array([b"x", None, b""], pa.large_binary()),
        "tags": pa.array([["t", None], None, []], pa.large_list(pa.string_view())),
        "labels": pa.array([{"k": "v"}, None, {"k": None}], pa.struct([("k", pa.string_view())])),
    }
)


def _parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _source(project: FloeProject, config: str) -> None:
    project.write(
        f"""
        retry: {{max_retries: 0}}
        ingestion:
          sources:
            - name: files
              type: filesystem
              config: {config}
              destination: {{namespace: bronze}}
        """
    )


def _readers(project: FloeProject, table: str) -> dict[str, list[dict[str, Any]]]:
    """The table's rows (without dlt's columns) as pyiceberg and as DuckDB read them."""
    from floe_dlt_destination_iceberg.catalog import open_catalog

    plugin = project.plugin()
    location = open_catalog(plugin.settings).load_table(("bronze", table)).metadata_location
    read = {
        "pyiceberg": plugin.read_table(f"bronze.{table}"),
        "duckdb": read_iceberg(location),
    }
    return {
        reader: [
            {k: v for k, v in row.items() if not k.startswith("_dlt")}
            for row in data.sort_by("id").to_pylist()
        ]
        for reader, data in read.items()
    }


def _as_dict(value: Any) -> Any:
    """Maps as dicts, at every depth: pyarrow gives a map as a list of (key, value) pairs."""
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        return {k: _as_dict(v) for k, v in value}
    if isinstance(value, list):
        return [_as_dict(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_dict(v) for k, v in value.items()}
    return value


def _expected(table: pa.Table) -> list[dict[str, Any]]:
    return [_as_dict(row) for row in table.to_pylist()]


def test_nulls_at_every_depth_stay_apart_from_empty(
    floe_project: FloeProject, local_files: Files
) -> None:
    local_files.write_bytes("nested.parquet", _parquet(NESTED))
    _source(floe_project, '{bucket_url: data, file_glob: "nested.parquet"}')

    floe_project.run()

    expected = _expected(NESTED)
    for reader, rows in _readers(floe_project, "nested").items():
        for want, got in zip(expected, [_as_dict(r) for r in rows], strict=True):
            for column, value in want.items():
                assert got[column] == value, f"{reader}: row {want['id']}, column {column}"


def test_view_and_large_types_load_as_plain_types(
    floe_project: FloeProject, local_files: Files
) -> None:
    local_files.write_bytes("views.parquet", _parquet(VIEWS))
    assert pq.read_schema(local_files.root / "views.parquet").field("name").type == (  # type: ignore[operator]
        pa.string_view()
    )
    _source(floe_project, '{bucket_url: data, file_glob: "views.parquet"}')

    floe_project.run()

    expected = _expected(VIEWS)
    for reader, rows in _readers(floe_project, "views").items():
        assert rows == expected, reader
    schema = floe_project.read("bronze.views").schema
    assert schema.field("name").type == pa.string()
    assert schema.field("blob").type == pa.binary()
    assert schema.field("tags").type.value_type == pa.string()


def test_csv_column_types_that_differ_between_files_load_as_text(
    floe_project: FloeProject, local_files: Files
) -> None:
    local_files.write_bytes("parts_1.csv", b"id,code,amount\n1,7,10\n2,8,11\n")
    local_files.write_bytes("parts_2.csv", b"id,code,amount\n3,007,1.5\n4,A-9,\n")
    _source(floe_project, '{bucket_url: data, file_glob: "parts_*.csv"}')

    floe_project.run()

    expected = [
        {"id": 1, "code": "7", "amount": 10.0},
        {"id": 2, "code": "8", "amount": 11.0},
        {"id": 3, "code": "007", "amount": 1.5},
        {"id": 4, "code": "A-9", "amount": None},
    ]
    for reader, rows in _readers(floe_project, "parts").items():
        assert rows == expected, reader


def test_csv_type_conflicts_can_fail_naming_column_and_files(
    floe_project: FloeProject, local_files: Files
) -> None:
    local_files.write_bytes("parts_1.csv", b"id,code\n1,7\n")
    local_files.write_bytes("parts_2.csv", b"id,code\n2,A-9\n")
    _source(
        floe_project,
        '{bucket_url: data, file_glob: "parts_*.csv", csv_type_conflicts: fail}',
    )

    with pytest.raises(IngestionError) as caught:
        floe_project.run()

    assert isinstance(root_cause(caught.value.__cause__ or caught.value), CsvTypeConflictError)
    assert caught.value.category is ErrorCategory.PERMANENT
    message = str(caught.value)
    assert "column 'code' is integer in" in message
    assert "parts_1.csv" in message
    assert "text in" in message
    assert "parts_2.csv" in message
    assert "csv_type_conflicts: string" in message
