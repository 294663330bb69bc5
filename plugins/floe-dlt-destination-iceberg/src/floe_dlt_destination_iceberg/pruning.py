"""Which data files a merge has to read: those that can hold a row with an incoming key.

A row already in the table matches an incoming row only if it has the same value in every key
column. So it can only be in a data file

- whose partition value, for each partition field computed from a key column (identity,
  ``bucket``, ``truncate``, or a time transform of that column), is that transform of one of the
  incoming values of the column: the row was written into the partition its key maps to, and a
  key does not change between versions of a row;
- whose lower and upper bounds of each key column hold one of the incoming values of the column.

A file failing either cannot hold a matching row, so skipping it is safe. A partition field on a
column outside the key (``day(updated_at)``) tells nothing: the version already in the table
may be in another partition (its ``updated_at`` was different), so only the key bounds prune
there. The partition test is pyiceberg's scan planning with ``In(key column, incoming values)``
as row filter, which it projects onto each partition spec, old specs of an evolved table too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import FileScanTask, Table

__all__ = ["candidates", "key_values"]

#: Above this many distinct incoming values of a column its partition filter is not built (its
#: literals cost more to bind than they save: a bucketed table has all its buckets hit long
#: before); the key bounds still prune.
_PARTITION_FILTER_LIMIT = 10_000


def key_values(incoming: pa.Table, keys: list[str], distinct: pa.Array) -> dict[str, pa.Array]:
    """The distinct incoming values of each key column (``distinct`` itself for one key)."""
    if len(keys) == 1:
        return {keys[0]: distinct}
    return {k: pc.unique(incoming.column(k).combine_chunks().drop_null()) for k in keys}


def candidates(
    table: Table, values: dict[str, pa.Array], snapshot_id: int | None = None
) -> list[FileScanTask]:
    """The data files of the current snapshot (or ``snapshot_id``) whose partition and key
    bounds can hold a row whose key columns have the incoming ``values``."""
    from floe_dlt_destination_iceberg._pyiceberg_adapter import cache_avro_schemas

    cache_avro_schemas()  # planning reads every manifest
    try:
        row_filter = _partition_filter(table, values)
        tasks = list(table.scan(row_filter=row_filter, snapshot_id=snapshot_id).plan_files())
    except (TypeError, ValueError):  # a value it cannot bind to the column, or no such column
        tasks = list(table.scan(snapshot_id=snapshot_id).plan_files())
    return [
        task
        for task in tasks
        if all(_may_hold(task, table, column, array) for column, array in values.items())
    ]


def _partition_filter(table: Table, values: dict[str, pa.Array]) -> BooleanExpression:
    """``In(column, values)`` for each key column some partition field is computed from."""
    from pyiceberg.expressions import AlwaysTrue, And, In

    schema = table.schema()
    sources = {f.source_id for spec in table.specs().values() for f in spec.fields}
    terms: list[BooleanExpression] = []
    for column, array in values.items():
        field = schema.find_field(column)  # ValueError for a column it lacks: no filter
        if field.field_id in sources and 0 < len(array) <= _PARTITION_FILTER_LIMIT:
            terms.append(In(term=column, literals=array.to_pylist()))
    if not terms:
        return AlwaysTrue()
    return terms[0] if len(terms) == 1 else And(*terms)


def _may_hold(task: FileScanTask, table: Table, key: str, incoming: pa.Array) -> bool:
    """Can the data file of ``task`` hold any incoming key, judging by its column bounds?"""
    from pyiceberg.conversions import from_bytes
    from pyiceberg.types import PrimitiveType

    try:
        field = table.schema().find_field(key)
    except ValueError:  # a key column the table does not have yet: no bounds to judge by
        return True
    if not isinstance(field.field_type, PrimitiveType):
        return True
    lower = task.file.lower_bounds.get(field.field_id) if task.file.lower_bounds else None
    upper = task.file.upper_bounds.get(field.field_id) if task.file.upper_bounds else None
    if lower is None or upper is None:
        return True
    try:
        low = from_bytes(field.field_type, lower)
        high = from_bytes(field.field_type, upper)
        inside = pc.and_(pc.greater_equal(incoming, low), pc.less_equal(incoming, high))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError, ValueError):
        # bounds Arrow cannot compare with the incoming keys (a type the table promoted, say):
        # the file may hold a key, so it is read; pruning only ever skips what it can rule out
        return True
    return bool(pc.any(inside).as_py())
