"""A table's partition spec and sort order as floe.yaml declares them (``partition_by``,
``sort_by``): applied when a table is created, and as Iceberg partition evolution (new data under
the new spec, old files untouched) and a sort-order update when the declaration changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from floe_core.layout import PartitionTerm, SortTerm, TableLayout

if TYPE_CHECKING:
    from pyiceberg.table import Table

__all__ = [
    "apply_layout",
    "dlt_partition_specs",
    "iceberg_sort_order",
    "layout_changes",
    "sort_keys",
]


def _transform(term: PartitionTerm) -> str:
    return f"{term.transform}[{term.size}]" if term.size is not None else term.transform


def _field_name(term: PartitionTerm) -> str:
    if term.transform == "identity":
        return term.column
    suffix = f"_{term.size}" if term.size is not None else ""
    return f"{term.column}_{term.transform}{suffix}"


def dlt_partition_specs(layout: TableLayout, name: str, columns: list[str]) -> list[Any]:
    """``layout``'s partitioning as dlt's partition specs, which dlt turns into the table's
    Iceberg partition spec when the table is created."""
    from dlt.destinations.impl.filesystem.iceberg_adapter import PartitionSpec

    _check_columns(layout, name, set(columns))
    return [
        PartitionSpec(t.column, t.transform, t.size, _field_name(t)) for t in layout.partition_by
    ]


def iceberg_sort_order(layout: TableLayout, schema: Any) -> Any:
    """``layout``'s sort order for a table created with ``schema`` (a pyiceberg schema)."""
    from pyiceberg.table.sorting import NullOrder, SortDirection, SortField, SortOrder
    from pyiceberg.transforms import IdentityTransform

    return SortOrder(
        *(
            SortField(
                source_id=schema.find_field(t.column).field_id,
                transform=IdentityTransform(),
                direction=SortDirection.DESC if t.descending else SortDirection.ASC,
                null_order=NullOrder.NULLS_FIRST if _nulls_first(t) else NullOrder.NULLS_LAST,
            )
            for t in layout.sort_by
        )
    )


def _check_columns(layout: TableLayout, name: str, columns: set[str]) -> None:
    for column in [t.column for t in layout.partition_by] + [t.column for t in layout.sort_by]:
        if column not in columns:
            raise ValueError(
                f"table {name}: destination.partition_by/sort_by: no column {column!r}"
            )


def _nulls_first(term: SortTerm) -> bool:
    """Iceberg's default: nulls first ascending, last descending."""
    return term.nulls_first if term.nulls_first is not None else not term.descending


@dataclass(frozen=True)
class _Delta:
    """How a table's partition spec and sort order differ from a layout."""

    drop: tuple[Any, ...]  # partition fields to remove (pyiceberg ``PartitionField``)
    add: tuple[PartitionTerm, ...]  # partition terms to add
    sort: bool  # the sort order differs

    def __bool__(self) -> bool:
        return bool(self.drop or self.add or self.sort)


def _delta(table: Table, layout: TableLayout, name: str, schema: Any) -> _Delta:
    """How ``table`` (its columns as in ``schema``) differs from ``layout``.

    Raises:
        ValueError: a term names a column the table does not have, or a transform that cannot
            apply to the column's type (one line naming table and column).
    """
    from pyiceberg.table.sorting import NullOrder
    from pyiceberg.transforms import parse_transform

    _check_columns(layout, name, {field.name for field in schema.fields})

    def partition_key(term: PartitionTerm) -> tuple[int, str]:
        return schema.find_field(term.column).field_id, str(parse_transform(_transform(term)))

    wanted = {partition_key(t) for t in layout.partition_by}
    current = {(f.source_id, str(f.transform)) for f in table.spec().fields}
    order = [
        (schema.find_field(t.column).field_id, t.descending, _nulls_first(t))
        for t in layout.sort_by
    ]
    existing = [
        (f.source_id, f.direction.value == "desc", f.null_order == NullOrder.NULLS_FIRST)
        for f in table.sort_order().fields
    ]
    if wanted == current:
        return _Delta((), (), order != existing)
    return _Delta(
        tuple(f for f in table.spec().fields if (f.source_id, str(f.transform)) not in wanted),
        tuple(t for t in layout.partition_by if partition_key(t) not in current),
        order != existing,
    )


def apply_layout(table: Table, layout: TableLayout, name: str) -> Table:
    """Bring ``table``'s partition spec and sort order to ``layout``, in one commit when they
    differ; the table as it is afterwards.

    Raises:
        ValueError: a term names a column the table does not have, or a transform that cannot
            apply to the column's type (one line naming table and column).
    """
    from pyiceberg.table.sorting import NullOrder
    from pyiceberg.transforms import IdentityTransform

    delta = _delta(table, layout, name, table.schema())
    if not delta:
        return table
    with table.transaction() as tx:
        if delta.drop or delta.add:
            with tx.update_spec() as spec:
                for field in delta.drop:
                    spec.remove_field(field.name)
                for term in delta.add:
                    spec.add_field(term.column, _transform(term), _field_name(term))
        if delta.sort:
            with tx.update_sort_order() as sort:
                for sort_term in layout.sort_by:
                    first = _nulls_first(sort_term)
                    null_order = NullOrder.NULLS_FIRST if first else NullOrder.NULLS_LAST
                    add = sort.desc if sort_term.descending else sort.asc
                    add(sort_term.column, IdentityTransform(), null_order)
    table.refresh()
    return table


def layout_changes(table: Table, layout: TableLayout, name: str, schema: Any) -> tuple[str, ...]:
    """What :func:`apply_layout` would change of ``table`` (its columns as in ``schema``, the
    pyiceberg schema after the load's evolution), in floe.yaml's words; changes nothing.

    Raises:
        ValueError: as :func:`apply_layout`.
    """
    if not layout:
        return ()  # a load declaring no layout leaves the table's as it is
    delta = _delta(table, layout, name, schema)
    lines = [f"partition_by: drop {_spelled(field, schema)}" for field in delta.drop]
    lines += [f"partition_by: add {_term(term)}" for term in delta.add]
    if delta.sort:
        now = _sort_now(table, schema)
        wanted = ", ".join(_sort_term(t) for t in layout.sort_by) or "none"
        lines.append(f"sort_by: {wanted} (now: {now})")
    return tuple(lines)


def _term(term: PartitionTerm) -> str:
    if term.transform == "identity":
        return term.column
    if term.size is not None:
        return f"{term.transform}({term.size}, {term.column})"
    return f"{term.transform}({term.column})"


def _spelled(field: Any, schema: Any) -> str:
    """A partition field of the table as floe.yaml writes it (``bucket(16, id)``)."""
    column = schema.find_column_name(field.source_id) or str(field.source_id)
    transform = str(field.transform)
    if transform == "identity":
        return str(column)
    kind, _, size = transform.partition("[")
    return f"{kind}({size.rstrip(']')}, {column})" if size else f"{kind}({column})"


def _sort_term(term: SortTerm) -> str:
    text = term.column + (" desc" if term.descending else "")
    if term.nulls_first is not None and term.nulls_first != (not term.descending):
        text += " nulls first" if term.nulls_first else " nulls last"
    return text


def _sort_now(table: Table, schema: Any) -> str:
    from pyiceberg.table.sorting import NullOrder

    terms = [
        SortTerm(
            str(schema.find_column_name(f.source_id)),
            f.direction.value == "desc",
            f.null_order == NullOrder.NULLS_FIRST,
        )
        for f in table.sort_order().fields
    ]
    return ", ".join(_sort_term(t) for t in terms) or "none"


def sort_keys(table: Table) -> list[tuple[str, str, str]] | None:
    """The table's sort order as pyarrow sort keys ``(column, order, null placement)``; ``None``
    when the table is unsorted or sorts by a transform (files are then written as they come)."""
    fields = table.sort_order().fields
    if not fields:
        return None
    schema = table.schema()
    keys: list[tuple[str, str, str]] = []
    for field in fields:
        if str(field.transform) != "identity":
            return None
        column: Any = schema.find_field(field.source_id).name
        order = "descending" if field.direction.value == "desc" else "ascending"
        placement = "at_start" if field.null_order.value == "nulls-first" else "at_end"
        keys.append((column, order, placement))
    return keys
