"""The schema rule a load applies to an existing table, and ``floe ingest plan`` reports."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from floe_dlt_destination_iceberg.evolution import SchemaRefusedError, column_changes, evolve
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("qty", pa.int32()),
        pa.field("price", pa.float32()),
        pa.field("amount", pa.decimal128(10, 2)),
        pa.field("name", pa.string()),
    ]
)


@pytest.fixture
def table(tmp_path: Path) -> Table:
    catalog = SqlCatalog(
        "t", uri=f"sqlite:///{tmp_path / 'c.db'}", warehouse=(tmp_path / "w").as_uri()
    )
    catalog.create_namespace("n")
    return catalog.create_table("n.t", schema=SCHEMA)


def _changes(table: Table, *fields: pa.Field) -> list[tuple[str, str, str | None, str]]:
    return [
        (c.column, c.change, c.before, c.after) for c in column_changes(table, pa.schema(fields))
    ]


def test_new_columns_and_allowed_promotions(table: Table) -> None:
    assert _changes(
        table,
        pa.field("qty", pa.int64()),
        pa.field("price", pa.float64()),
        pa.field("amount", pa.decimal128(14, 2)),
        pa.field("note", pa.string()),
    ) == [
        ("qty", "promote", "int", "long"),
        ("price", "promote", "float", "double"),
        ("amount", "promote", "decimal(10, 2)", "decimal(14, 2)"),
        ("note", "add", None, "string"),
    ]


def test_narrower_incoming_types_change_nothing(table: Table) -> None:
    assert (
        _changes(table, pa.field("id", pa.int32()), pa.field("amount", pa.decimal128(8, 2))) == []
    )


def test_refused_changes_name_the_column(table: Table) -> None:
    assert _changes(
        table,
        pa.field("id", pa.string()),
        pa.field("amount", pa.decimal128(10, 4)),
        pa.field("name", pa.int64()),
    ) == [
        ("id", "refuse", "long", "string"),
        ("amount", "refuse", "decimal(10, 2)", "decimal(10, 4)"),
        ("name", "refuse", "string", "long"),
    ]


def test_evolve_commits_what_column_changes_reports(table: Table) -> None:
    incoming = pa.schema([pa.field("qty", pa.int64()), pa.field("note", pa.string())])
    reported = column_changes(table, incoming)
    evolve(table, incoming, "n.t")
    columns = {f.name: str(f.field_type) for f in table.schema().fields}
    assert {c.column: c.after for c in reported} == {"qty": "long", "note": "string"}
    assert (columns["qty"], columns["note"]) == ("long", "string")


def test_evolve_refuses_naming_table_and_column(table: Table) -> None:
    with pytest.raises(SchemaRefusedError, match=r"table n\.t: column amount cannot change"):
        evolve(table, pa.schema([pa.field("amount", pa.decimal128(10, 4))]), "n.t")
    assert str(table.schema().find_field("amount").field_type) == "decimal(10, 2)"
