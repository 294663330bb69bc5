"""A table's partition spec and sort order as floe.yaml declares them (``partition_by``,
``sort_by``): applied when a table is created, and as Iceberg partition evolution (new data under
the new spec, old files untouched) and a sort-order update when the declaration changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from floe_core.layout import PartitionTerm, SortTerm, TableLayout

if TYPE_CHECKING:
    from pyiceberg.table import Table

__all__ = ["apply_layout", "dlt_partition_specs", "iceberg_sort_order", "sort_keys"]


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


def apply_layout(table: Table, layout: TableLayout, name: str) -> Table:
    """Bring ``table``'s partition spec and sort order to ``layout``, in one commit when they
    differ; the table as it is afterwards.

    Raises:
        ValueError: a term names a column the table does not have, or a transform that cannot
            apply to the column's type (one line naming table and column).
    """
    from pyiceberg.table.sorting import NullOrder
    from pyiceberg.transforms import IdentityTransform, parse_transform

    _check_columns(layout, name, {field.name for field in table.schema().fields})
    schema = table.schema()

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
    if wanted == current and order == existing:
        return table
    with table.transaction() as tx:
        if wanted != current:
            with tx.update_spec() as spec:
                for field in table.spec().fields:
                    if (field.source_id, str(field.transform)) not in wanted:
                        spec.remove_field(field.name)
                for term in layout.partition_by:
                    if partition_key(term) not in current:
                        spec.add_field(term.column, _transform(term), _field_name(term))
        if order != existing:
            with tx.update_sort_order() as sort:
                for sort_term in layout.sort_by:
                    first = _nulls_first(sort_term)
                    null_order = NullOrder.NULLS_FIRST if first else NullOrder.NULLS_LAST
                    add = sort.desc if sort_term.descending else sort.asc
                    add(sort_term.column, IdentityTransform(), null_order)
    table.refresh()
    return table


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
