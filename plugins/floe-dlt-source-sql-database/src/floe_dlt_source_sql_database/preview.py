"""What a run of a ``sql_database`` source would read (``floe ingest plan``): ``count(*)`` over
each table's incremental range, under a statement timeout, and the columns as they would land
(by the same type plans the load reads with). Reads no row and writes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from floe_ingestion_dlt.types import ReadPreview, SourceContext

from floe_dlt_source_sql_database.config import SqlDatabaseConfig
from floe_dlt_source_sql_database.typemap import ColumnPlan, note_unknown_types, plan_table

__all__ = ["preview"]


def preview(
    config: SqlDatabaseConfig,
    context: SourceContext,
    url: str,
    after: Mapping[str, Any],
    timeout: float,
) -> dict[str, ReadPreview]:
    """Per listed table: the rows a run would read and the Arrow schema it would land."""
    connect: dict[str, Any] = {}
    if config.scheme != "sqlite":
        connect = {"connect_timeout": max(1, round(timeout))}
    engine = sa.create_engine(url, connect_args=connect)
    names = [] if config.tables == "all" else list(config.tables)
    cursor = config.cursor_field or context.cursor_field
    previews: dict[str, ReadPreview] = {}
    try:
        with engine.connect() as connection:
            _statement_timeout(connection, timeout)
            metadata = sa.MetaData(schema=config.schema_name)
            tables = [sa.Table(n, metadata, autoload_with=connection) for n in names]
            dialect = connection.dialect.name
            if dialect in ("mysql", "mariadb"):
                note_unknown_types(url, tables, config.schema_name)
            for table in tables:
                plans = plan_table(
                    table, dialect, config.columns.get(table.name), config.zero_dates
                )
                query, how = _count(table, cursor, after.get(table.name), config.initial_value)
                rows = connection.execute(query).scalar_one()
                schema, columns = _landing_schema(table, plans, config, connection)
                previews[table.name] = ReadPreview(
                    rows=int(rows), how=how, schema=schema, columns=columns
                )
            connection.rollback()
    finally:
        engine.dispose()
    return previews


def _statement_timeout(connection: sa.Connection, timeout: float) -> None:
    """No statement of this connection runs longer than ``timeout`` (SQLite: local, none)."""
    dialect = connection.dialect
    milliseconds = max(1, round(timeout * 1000))
    if dialect.name == "postgresql":
        connection.execute(sa.text(f"SET statement_timeout = {milliseconds}"))
    elif getattr(dialect, "is_mariadb", False):
        connection.execute(sa.text(f"SET SESSION max_statement_time = {timeout:.3f}"))
    elif dialect.name == "mysql":
        connection.execute(sa.text(f"SET SESSION max_execution_time = {milliseconds}"))


def _count(table: sa.Table, cursor: str | None, last: Any, initial: Any) -> tuple[Any, str]:
    """``count(*)`` of the rows a run reads: past the stored cursor value (where dlt's
    incremental starts), from ``initial_value`` on a first run, else all of them."""
    query = sa.select(sa.func.count()).select_from(table)
    if cursor is None or cursor not in table.c:
        return query, "count(*)"
    if last is not None:
        return query.where(table.c[cursor] > last), f"count(*) where {cursor} > {last}"
    if initial is not None:
        return query.where(table.c[cursor] >= initial), f"count(*) where {cursor} >= {initial}"
    return query, "count(*)"


def _landing_schema(
    table: sa.Table,
    plans: dict[str, ColumnPlan],
    config: SqlDatabaseConfig,
    connection: sa.Connection,
) -> tuple[pa.Schema, dict[str, dict[str, Any]]]:
    """The columns as a load lands them, named as dlt names them: each planned column as its
    plan converts it; the others as the backend reads them (connectorx: its own Arrow types,
    asked with a query that returns no row; otherwise dlt's types for the reflected columns).
    With the dlt column hints the resource declares (reflected, then the plans')."""
    from dlt.sources.sql_database.schema_types import table_to_columns
    from floe_ingestion_dlt._dlt_adapter import arrow_type, naming

    hints = table_to_columns(table, "full_with_precision")
    read = _connectorx_types(table, plans, connection) if _connectorx(config) else {}
    fields = []
    declared: dict[str, dict[str, Any]] = {}
    for column in table.columns:
        plan = plans.get(column.name)
        hint: dict[str, Any] = dict(hints.get(column.name) or {"name": column.name})
        if plan is not None and "data_type" in plan.hint:
            hint.update(plan.hint)
        name = naming().normalize_identifier(column.name)
        declared[name] = {**hint, "name": name}
        if plan is not None and plan.arrow is not None:
            kind = plan.arrow
        elif column.name in read and (plan is None or "data_type" not in plan.hint):
            kind = read[column.name]
        elif hint.get("data_type"):
            kind = arrow_type(hint, "UTC")
        else:
            continue  # typed by the values read
        fields.append(pa.field(name, kind))
    return pa.schema(fields), declared


def _connectorx(config: SqlDatabaseConfig) -> bool:
    return config.effective_backend == "connectorx" and config.scheme != "sqlite"


def _connectorx_types(
    table: sa.Table, plans: dict[str, ColumnPlan], connection: sa.Connection
) -> dict[str, pa.DataType]:
    """The Arrow types connectorx reads the table's columns as (a query returning no row)."""
    import connectorx as cx

    from floe_dlt_source_sql_database.source import _connectorx_url

    select = sa.select(*(plans[c.name].select if c.name in plans else c for c in table.columns))
    query = str(select.limit(0).compile(connection.engine, compile_kwargs={"literal_binds": True}))
    url = connection.engine.url.render_as_string(hide_password=False)
    result = cx.read_sql(_connectorx_url(url), query, return_type="arrow", protocol="binary")
    return {field.name: field.type for field in result.schema}
