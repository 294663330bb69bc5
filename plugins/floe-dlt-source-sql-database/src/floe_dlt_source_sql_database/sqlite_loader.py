"""A faster way to read SQLite into Arrow, plugged into dlt's ``sql_database`` as its table loader.

dlt's pyarrow backend lets SQLAlchemy process every value in Python (SQLite keeps timestamps as
text, so each is parsed one at a time) and then pivots rows into Arrow. This loader runs the same
query, incremental filter included, through SQLAlchemy, but reads the driver's raw rows and
converts whole columns at once in Arrow to the types dlt reflected.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources.sql_database.helpers import TableLoader

__all__ = ["SqliteArrowLoader"]

_CONVERSION_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError)


class SqliteArrowLoader(TableLoader):
    """Reads raw SQLite rows and converts them column by column in Arrow."""

    def _load_rows(self, query: Any, backend_kwargs: dict[str, Any]) -> Iterator[Any]:
        from floe_ingestion_dlt._dlt_adapter import arrow_type

        tz = backend_kwargs.get("tz", "UTC")
        with self.engine.connect() as connection:
            result = connection.execute(query)
            try:
                cursor = result.cursor
                names = [d[0] for d in cursor.description]
                targets = {
                    name: arrow_type(self.columns[name], tz)
                    if self.columns.get(name, {}).get("data_type")
                    else None
                    for name in names
                }
                while rows := cursor.fetchmany(self.chunk_size):
                    yield self._to_arrow(rows, names, targets, tz)
            finally:
                result.close()

    def _to_arrow(
        self, rows: Sequence[Any], names: list[str], targets: dict[str, Any], tz: str
    ) -> pa.Table:
        try:
            arrays = [
                _column(values, targets[name])
                for name, values in zip(names, zip(*rows, strict=True), strict=True)
            ]
            return pa.Table.from_arrays(arrays, names=names)
        except _CONVERSION_ERRORS:
            # A column SQLite filled with mixed types: let dlt convert this chunk value by value.
            from dlt.sources.sql_database.arrow_helpers import row_tuples_to_arrow

            return row_tuples_to_arrow(
                rows, columns={n: self.columns.get(n, {"name": n}) for n in names}, tz=tz
            )


def _column(values: tuple[Any, ...], target: Any) -> pa.Array:
    array = pa.array(values)
    if target is None or array.type == target:
        return array
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), target)
    if pa.types.is_timestamp(target) and target.tz is not None and pa.types.is_string(array.type):
        # SQLite keeps naive text; like dlt, read it as UTC
        return pc.cast(pc.cast(array, pa.timestamp(target.unit)), target)
    return pc.cast(array, target)
