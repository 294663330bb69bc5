"""dlt table loaders that read every column by its plan (``typemap``) and land it exactly.

Plugged into dlt's ``sql_database`` as ``table_loader_class`` (its documented extension point)
around whichever loader the backend uses: the SELECT reads each planned column's expression,
rows a plan refuses fail the table before extraction, and what the backend returns is
converted column by column to the planned Arrow type, or the table fails naming the column.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pyarrow as pa
import sqlalchemy as sa
from dlt.sources.sql_database.helpers import BaseTableLoader

from floe_dlt_source_sql_database.config import SqlDatabaseConfig
from floe_dlt_source_sql_database.errors import InexactValueError
from floe_dlt_source_sql_database.typemap import ColumnPlan, plan_table

__all__ = ["exact_loader"]

_CAST_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


def _fix(table: str, column: str) -> str:
    return f"set config.columns.{table}.{column}.type: text to land it as text"


class _ExactLoader(BaseTableLoader):
    """Mixin: the planned SELECT, the refusals, then exact conversion of each item."""

    floe_config: SqlDatabaseConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.backend == "pandas":
            # dlt's data frames fail on binary columns and would need pandas: the same rows
            # built straight into Arrow land the same values
            self.backend = "pyarrow"
        config = self.floe_config
        self.plans: dict[str, ColumnPlan] = plan_table(
            self.table,
            self.engine.dialect.name,
            config.columns.get(self.table.name),
            config.zero_dates,
        )
        # the backend builds Arrow from what the SELECT returns, not from what lands
        read: dict[str, Any] = {
            n: p.read_hint for n, p in self.plans.items() if "data_type" in p.read_hint
        }
        self.columns = cast("Any", {**self.columns, **read})  # dlt's columns mapping

    def make_query(self) -> Any:
        query = super().make_query()
        if not self.plans or not isinstance(query, sa.Select):
            return query
        return query.with_only_columns(
            *(
                self.plans[c.name].select if c.name in self.plans else c
                for c in query.selected_columns
            )
        )

    def load_rows(self, backend_kwargs: dict[str, Any] | None = None) -> Iterator[Any]:
        self._refuse()
        # the concrete loader follows this mixin in the class built by exact_loader
        for item in super().load_rows(backend_kwargs or {}):  # type: ignore[safe-super]
            yield self._convert(item)

    def _refuse(self) -> None:
        """Fail before extraction if a row this load reads holds a value its plan refuses."""
        checks = {n: p.refuse for n, p in self.plans.items() if p.refuse is not None}
        base = super().make_query()
        if not checks or not isinstance(base, sa.Select):
            return
        found = base.with_only_columns(
            *(
                sa.case((refuse, sa.cast(self.table.c[name], sa.String))).label(name)
                for name, refuse in checks.items()
            )
        )
        found = found.where(sa.or_(*checks.values())).order_by(None).limit(1)
        with self.engine.connect() as connection:
            row = connection.execute(found).mappings().first()
        for name in checks:
            if row is not None and row[name] is not None:
                plan = self.plans[name]
                raise InexactValueError(
                    self.table.name,
                    name,
                    row[name],
                    plan.problem,
                    plan.fix or _fix(self.table.name, name),
                )

    def _convert(self, item: Any) -> Any:
        if isinstance(item, list):
            item = self._rows_to_arrow(item)
        if self.backend == "connectorx" and self.engine.dialect.name == "postgresql":
            item = self._narrow_postgres_integers(item)
        for name, plan in self.plans.items():
            if plan.arrow is not None and name in item.column_names:
                array = self._cast(name, item.column(name), plan.arrow)
                item = item.set_column(item.column_names.index(name), name, array)
        return item

    def _narrow_postgres_integers(self, item: pa.Table) -> pa.Table:
        """connectorx's streamed batches read PostgreSQL smallint and integer as int64; its
        whole-table read, the other backends and ``floe ingest plan`` give int32, so the
        table's column is an Iceberg int whichever way it is read (every value fits)."""
        for index, name in enumerate(item.column_names):
            column = self.table.c.get(name)
            if (
                column is not None
                and item.schema.field(index).type == pa.int64()
                and isinstance(column.type, sa.Integer)
                and not isinstance(column.type, sa.BigInteger)
            ):
                item = item.set_column(index, name, item.column(index).cast(pa.int32()))
        return item

    def _rows_to_arrow(self, rows: list[dict[str, Any]]) -> pa.Table:
        """The sqlalchemy backend's rows as Arrow, typed by the same hints as the pyarrow
        backend: dlt's JSON path would turn NaN and infinities into NULL."""
        from dlt.sources.sql_database.arrow_helpers import row_tuples_to_arrow

        names = list(rows[0]) if rows else [c.name for c in self.table.columns]
        return row_tuples_to_arrow(
            [tuple(row[n] for n in names) for row in rows],
            columns={n: self.columns.get(n, {"name": n}) for n in names},
            tz="UTC",
        )

    def _cast(self, name: str, array: Any, target: pa.DataType) -> Any:
        if array.type == target:
            return array
        try:
            return array.cast(target)  # safe: fails rather than round, truncate or overflow
        except _CAST_ERRORS:
            for value in array.to_pylist():
                try:
                    pa.array([value]).cast(target)
                except _CAST_ERRORS:
                    plan = self.plans[name]
                    raise InexactValueError(
                        self.table.name, name, value, plan.problem, _fix(self.table.name, name)
                    ) from None
            raise


def exact_loader(base: type[BaseTableLoader], config: SqlDatabaseConfig) -> type[BaseTableLoader]:
    """``base`` reading every column by its plan under ``config``'s overrides."""
    return type(f"Exact{base.__name__}", (_ExactLoader, base), {"floe_config": config})
