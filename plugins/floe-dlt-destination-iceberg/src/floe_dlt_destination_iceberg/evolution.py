"""How a load changes an existing table's columns: the one rule the load job applies and
``floe ingest plan`` reports.

The rule is pyiceberg's ``union_by_name``: a new column is added; a column whose incoming type
Iceberg can promote the table's type to (int to long, float to double, a decimal's precision
widened) is promoted; an incoming type the table's type already holds (int into long) changes
nothing; any other change is refused. Columns the load does not bring are kept (NULL in its rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
from floe_ingestion_dlt.types import ColumnChange

from floe_dlt_destination_iceberg._pyiceberg_adapter import evolved_schema

if TYPE_CHECKING:
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table

__all__ = ["SchemaRefusedError", "column_changes", "evolve", "evolved"]


class SchemaRefusedError(ValueError):
    """The load brings a column whose type the table cannot change to."""


def _compatible(schema: pa.Schema) -> pa.Schema:
    from dlt.common.libs.pyiceberg import ensure_iceberg_compatible_arrow_schema

    return ensure_iceberg_compatible_arrow_schema(schema)


def column_changes(table: Table, incoming: pa.Schema) -> tuple[ColumnChange, ...]:
    """How loading columns ``incoming`` would change ``table``'s columns, changing nothing."""
    from pyiceberg.exceptions import ValidationError

    existing = table.schema()
    changes: list[ColumnChange] = []
    for field in _compatible(incoming):
        before = _field_type(existing, field.name)
        if before is not None and before == _arrow_type(field):
            continue  # the same type: nothing to evolve (and no table metadata copied)
        rescaled = _rescaled(existing, field)
        if rescaled:
            changes.append(ColumnChange(field.name, "refuse", before, _arrow_type(field), rescaled))
            continue
        try:
            after = _field_type(evolved_schema(table, pa.schema([field])), field.name)
        except (ValidationError, ValueError) as exc:
            changes.append(
                ColumnChange(field.name, "refuse", before, _arrow_type(field), _reason(exc))
            )
            continue
        assert after is not None  # nosec B101  # union_by_name keeps or adds every column
        if before is None:
            changes.append(ColumnChange(field.name, "add", None, after))
        elif before != after:
            changes.append(ColumnChange(field.name, "promote", before, after))
    return tuple(changes)


def evolved(table: Table, incoming: pa.Schema) -> Schema:
    """``table``'s schema after loading ``incoming`` (computed, not committed)."""
    return evolved_schema(table, _compatible(incoming))


def evolve(table: Table, incoming: pa.Schema, name: str) -> Table:
    """Evolve ``table``'s schema to take ``incoming`` (one commit when it changes); the table.

    Raises:
        SchemaRefusedError: one line naming the table and each refused column.
    """
    changes = column_changes(table, incoming)
    refused = [c for c in changes if c.change == "refuse"]
    if refused:
        raise SchemaRefusedError(
            f"table {name}: "
            + "; ".join(
                f"column {c.column} cannot change from {c.before} to {c.after}" for c in refused
            )
            + " (Iceberg allows int to long, float to double and widening a decimal's "
            "precision; land the column under another name, or replace the table)"
        )
    with table.update_schema() as update:  # commits nothing when nothing changes
        update.union_by_name(_compatible(incoming))
    return table


def _rescaled(existing: Schema, field: pa.Field) -> str:
    """Why a decimal column cannot take ``field``: its scale differs (empty when it can).

    Iceberg changes a decimal's precision only, never its scale; pyiceberg 0.12's ``promote``
    compares a decimal's scale with itself, so ``union_by_name`` would keep the table's scale
    and the load would round its values into it.
    """
    from pyiceberg.types import DecimalType

    try:
        kind = existing.find_field(field.name).field_type
    except ValueError:
        return ""
    if not isinstance(kind, DecimalType) or not pa.types.is_decimal(field.type):
        return ""
    if field.type.scale == kind.scale:
        return ""
    return "Iceberg widens a decimal's precision only, never its scale"


def _field_type(schema: Schema, name: str) -> str | None:
    try:
        return str(schema.find_field(name).field_type)
    except ValueError:
        return None


def _arrow_type(field: pa.Field) -> str:
    """The Iceberg type of an Arrow field, as pyiceberg writes it (its Arrow type otherwise)."""
    from pyiceberg.io.pyarrow import pyarrow_to_schema
    from pyiceberg.table.name_mapping import MappedField, NameMapping

    mapping = NameMapping([MappedField(field_id=1, names=[field.name])])
    try:
        converted = pyarrow_to_schema(pa.schema([field]), name_mapping=mapping)
    except (ValueError, TypeError):
        return str(field.type)
    return str(converted.fields[0].field_type)


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.removeprefix("Cannot change column type: ")
