"""The ``sql_database`` source type: dlt's sql_database source with floe's hints applied."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from floe_core.health import HealthState, HealthStatus
from floe_ingestion_dlt.errors import PipelineConfigurationError
from floe_ingestion_dlt.hints import UNIQUE_KEYS_HINT, apply_destination_hints
from floe_ingestion_dlt.types import DltSource, ReadPreview, SourceContext, SourceType
from pydantic import BaseModel

from floe_dlt_source_sql_database.config import DRIVERS, SqlDatabaseConfig

__all__ = ["SqlDatabaseSource", "resolve_url"]

_INSTALL = "pip install floe-dlt-source-sql-database"


_DEFAULT_DRIVER = {
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


def resolve_url(config: SqlDatabaseConfig, project_dir: str) -> str:
    """The SQLAlchemy URL: a relative SQLite path resolved against the project folder, and
    the driver floe installs named explicitly (SQLAlchemy 2.1 defaults PostgreSQL to psycopg 3)."""
    url = config.credentials.get_secret_value()
    scheme, rest = url.split("://", 1)
    if config.scheme == "sqlite":
        path = rest.removeprefix("/")
        if path and path != ":memory:" and not url.startswith("sqlite:////"):
            return f"sqlite:///{(Path(project_dir) / path).resolve()}"
        return url
    return f"{_DEFAULT_DRIVER.get(scheme.lower(), scheme)}://{rest}"


def _connectorx_url(url: str) -> str:
    """connectorx names drivers by scheme only (``postgresql://``, ``mysql://``)."""
    scheme, rest = url.split("://", 1)
    base = scheme.split("+", 1)[0]
    return f"{'mysql' if base == 'mariadb' else base}://{rest}"


def _loader_class(config: SqlDatabaseConfig) -> type[Any]:
    """dlt's loader for the backend (floe's own for SQLite by default), reading exactly."""
    from dlt.sources.sql_database.helpers import get_table_loader_class

    from floe_dlt_source_sql_database.exact import exact_loader

    if config.scheme == "sqlite" and config.backend is None:
        from floe_dlt_source_sql_database.sqlite_loader import SqliteArrowLoader

        return exact_loader(SqliteArrowLoader, config)
    return exact_loader(get_table_loader_class(config.effective_backend), config)


def _unique(table: Any, keys: list[str]) -> bool:
    """Whether no two rows of ``table`` can share ``keys``: its primary key, or a unique
    constraint on columns that cannot be NULL (a merge counts NULL keys as one value; SQL
    lets a unique column hold many), is among them."""
    if table is None or not keys:
        return False
    import sqlalchemy as sa

    unique = [
        c
        for c in table.constraints
        if isinstance(c, sa.UniqueConstraint) and not any(col.nullable for col in c.columns)
    ]
    return any(
        len(c.columns) and set(c.columns.keys()) <= set(keys) for c in [table.primary_key, *unique]
    )


def _declare_types(
    source: DltSource, tables: dict[str, Any], config: SqlDatabaseConfig, url: str, name: str
) -> None:
    """Give each resource the column types that land, after checking ``config.columns``."""
    import sqlalchemy as sa

    from floe_dlt_source_sql_database.typemap import note_unknown_types, plan_table

    dialect = sa.engine.make_url(url).get_dialect().name
    if dialect in ("mysql", "mariadb"):
        note_unknown_types(url, list(tables.values()), config.schema_name)
    for table_name, overrides in config.columns.items():
        table = tables.get(table_name)
        if table is None:
            raise PipelineConfigurationError(
                f"source {name!r} (sql_database): config.columns.{table_name}: no selected "
                f"table {table_name!r} (selected: {', '.join(sorted(tables))})",
                source_type="sql_database",
            )
        for column in overrides:
            if column not in table.c:
                raise PipelineConfigurationError(
                    f"source {name!r} (sql_database): config.columns.{table_name}.{column}: "
                    f"table {table_name!r} has no column {column!r} "
                    f"(columns: {', '.join(c.name for c in table.columns)})",
                    source_type="sql_database",
                )
    for resource in source.selected_resources.values():
        table = tables.get(resource.name)
        if table is None:
            continue
        plans = plan_table(table, dialect, config.columns.get(table.name), config.zero_dates)
        hints = {n: p.hint for n, p in plans.items() if "data_type" in p.hint}
        if hints:
            resource.apply_hints(columns=hints)


class SqlDatabaseSource(SourceType):
    """Tables of SQLite, PostgreSQL and MySQL/MariaDB databases."""

    name = "sql_database"
    config_model = SqlDatabaseConfig

    def check_imports(self, config: BaseModel | None = None) -> None:
        for module, package in (("sqlalchemy", "sqlalchemy"), ("pyarrow", "pyarrow")):
            try:
                __import__(module)
            except ImportError as exc:
                raise ImportError(f"{module} is missing: pip install {package}") from exc
        if isinstance(config, SqlDatabaseConfig):
            self._check_driver(config)

    def _check_driver(self, config: SqlDatabaseConfig) -> None:
        module, package = DRIVERS[config.scheme]
        try:
            __import__(module)
        except ImportError as exc:
            raise ImportError(
                f"the {config.scheme} driver {module} is missing: pip install {package} "
                f"(or {_INSTALL}[{'postgres' if 'postgres' in config.scheme else 'mysql'}])"
            ) from exc
        if config.effective_backend == "connectorx":
            try:
                __import__("connectorx")
            except ImportError as exc:
                raise ImportError("connectorx is missing: pip install connectorx") from exc

    def resource_names(self, config: BaseModel, context: SourceContext) -> list[str] | None:
        """The tables listed in ``config.tables``; ``all`` is known only by connecting."""
        assert isinstance(config, SqlDatabaseConfig)  # nosec B101  # narrows the type; checked upstream
        return None if config.tables == "all" else list(config.tables)

    def build(self, config: BaseModel, context: SourceContext) -> DltSource:
        import dlt
        from dlt.sources.sql_database import sql_database

        assert isinstance(config, SqlDatabaseConfig)  # nosec B101  # narrows the type; checked upstream
        self._check_driver(config)
        url = resolve_url(config, context.project_dir)
        backend_kwargs: dict[str, Any] = {}
        if config.effective_backend == "connectorx":
            # streamed: connectorx hands over one batch of chunk_size rows at a time, so memory
            # follows a batch, not the table (its "arrow" return type reads the whole table)
            backend_kwargs = {
                "conn": _connectorx_url(url),
                "return_type": "arrow_stream",
                "batch_size": config.chunk_size,
            }
        reflected: dict[str, Any] = {}
        source = sql_database(
            table_loader_class=_loader_class(config),
            table_adapter_callback=lambda table: reflected.setdefault(table.name, table),
            credentials=url,
            schema=config.schema_name,
            table_names=None if config.tables == "all" else list(config.tables),
            backend=config.effective_backend,
            chunk_size=config.chunk_size,
            reflection_level="full_with_precision",
            backend_kwargs=backend_kwargs,
            query_adapter_callback=_window_query(context, config.scheme)
            if context.window
            else None,
        )
        _declare_types(source, reflected, config, url, context.source_name)
        cursor = config.cursor_field or context.cursor_field
        if context.window is not None:
            _check_window_column(source, context)
        elif cursor:
            with_cursor = [
                r
                for r in source.selected_resources.values()
                if isinstance(r.columns, dict) and cursor in r.columns
            ]
            if not with_cursor:
                raise PipelineConfigurationError(
                    f"source {context.source_name!r}: config.cursor_field: no selected table has "
                    f"a column {cursor!r}",
                    source_type=self.name,
                )
            for resource in with_cursor:
                # ordered by the cursor only where the order decides a result: a merge that keeps
                # the last row of a key the table may hold twice (sorting a large first read
                # costs the database a full sort before it sends a row)
                ordered = context.write_mode == "merge" and not _unique(
                    reflected.get(resource.name), context.primary_key
                )
                resource.apply_hints(
                    incremental=dlt.sources.incremental(
                        cursor,
                        initial_value=config.initial_value,
                        row_order="asc" if ordered else None,
                    )
                )
        if context.write_mode == "merge":
            for resource in source.selected_resources.values():
                if _unique(reflected.get(resource.name), context.primary_key):
                    # the destination need not look for a key twice in the load
                    resource.apply_hints(additional_table_hints={UNIQUE_KEYS_HINT: True})
        return apply_destination_hints(source, context)

    def row_estimates(self, config: BaseModel, context: SourceContext) -> dict[str, int]:
        """The database's own row estimates of the listed tables, for a full (not incremental)
        read: PostgreSQL's planner statistics, MySQL's table statistics, SQLite's count."""
        assert isinstance(config, SqlDatabaseConfig)  # nosec B101  # narrows the type; checked upstream
        if config.tables == "all" or config.cursor_field or context.cursor_field or context.window:
            return {}
        try:
            return _row_estimates(config, resolve_url(config, context.project_dir))
        except Exception:  # an estimate is a nicety: the load reports what it reads anyway
            return {}

    def preview(
        self,
        config: BaseModel,
        context: SourceContext,
        after: Mapping[str, Any],
        timeout: float,
    ) -> dict[str, ReadPreview]:
        """``count(*)`` of each listed table past its stored cursor value, under a statement
        timeout, and its columns as they would land."""
        from floe_dlt_source_sql_database.preview import preview

        assert isinstance(config, SqlDatabaseConfig)  # nosec B101  # narrows the type; checked upstream
        self._check_driver(config)
        return preview(config, context, resolve_url(config, context.project_dir), after, timeout)

    def health_check(
        self, config: BaseModel, context: SourceContext, timeout: float
    ) -> HealthStatus:
        """Connect, and check that every configured table (or, for ``all``, one) exists."""
        import sqlalchemy as sa

        assert isinstance(config, SqlDatabaseConfig)  # nosec B101  # narrows the type; checked upstream
        self._check_driver(config)
        engine = sa.create_engine(
            resolve_url(config, context.project_dir), connect_args=_connect_timeout(config, timeout)
        )
        try:
            with engine.connect() as connection:
                inspector = sa.inspect(connection)
                present = set(inspector.get_table_names(schema=config.schema_name))
                present |= set(inspector.get_view_names(schema=config.schema_name))
        except sa.exc.DBAPIError as exc:
            return _refused(config, exc)
        finally:
            engine.dispose()
        where = f"schema {config.schema_name!r}" if config.schema_name else "the database"
        if config.tables == "all":
            if not present:
                return HealthStatus(HealthState.UNHEALTHY, f"{where} has no tables")
            return HealthStatus(HealthState.HEALTHY, f"{config.scheme}: {len(present)} tables")
        missing = [table for table in config.tables if table not in present]
        if missing:
            return HealthStatus(
                HealthState.UNHEALTHY,
                f"config.tables: {where} has no table{'s' if len(missing) > 1 else ''} "
                + ", ".join(map(repr, missing)),
                {"missing_tables": missing, "category": "configuration"},
            )
        return HealthStatus(
            HealthState.HEALTHY, f"{config.scheme}: tables {', '.join(config.tables)} exist"
        )


def _window_query(context: SourceContext, scheme: str) -> Any:
    """A query adapter reading only the window's rows: ``start <= column < end``, the bounds
    typed as the column is (a date, a timestamp with or without time zone)."""
    import sqlalchemy as sa

    window = context.window
    assert window is not None  # nosec B101  # narrows the type; checked upstream

    def adapt(query: Any, table: Any, *_: Any) -> Any:
        column = table.columns[window.column]
        if scheme == "sqlite":  # text timestamps compare as text: compare SQLite's own form
            low = window.start.strftime("%Y-%m-%d %H:%M:%S")
            high = window.end.strftime("%Y-%m-%d %H:%M:%S")
            value = sa.func.datetime(column)
            return query.where(sa.and_(value >= low, value < high))
        start: Any = window.start
        end: Any = window.end
        kind = column.type
        if isinstance(kind, sa.Date) and not isinstance(kind, sa.DateTime):
            start, end = window.start.date(), window.end.date()
        elif isinstance(kind, sa.DateTime) and not kind.timezone:
            start, end = window.start.replace(tzinfo=None), window.end.replace(tzinfo=None)
        return query.where(sa.and_(column >= start, column < end))

    return adapt


def _check_window_column(source: Any, context: SourceContext) -> None:
    """Every selected table has the window's column: one without it would be read whole by each
    window and appended again."""
    window = context.window
    assert window is not None  # nosec B101  # narrows the type; checked upstream
    without = [
        name
        for name, resource in source.selected_resources.items()
        if not (isinstance(resource.columns, dict) and window.column in resource.columns)
    ]
    if without:
        raise PipelineConfigurationError(
            f"source {context.source_name!r}: partitions.column: table"
            f"{'s' if len(without) > 1 else ''} {', '.join(map(repr, without))} "
            f"{'have' if len(without) > 1 else 'has'} no column {window.column!r}",
            source_type="sql_database",
        )


def _row_estimates(config: SqlDatabaseConfig, url: str) -> dict[str, int]:
    import sqlalchemy as sa

    tables = list(config.tables)
    engine = sa.create_engine(url)
    rows: Iterable[Any]
    try:
        with engine.connect() as connection:
            if config.scheme.startswith("postgresql"):
                rows = connection.execute(
                    sa.text(
                        "SELECT c.relname, c.reltuples::bigint FROM pg_class c JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE c.relname = ANY(:tables) "
                        "AND n.nspname = coalesce(:schema, current_schema())"
                    ),
                    {"tables": tables, "schema": config.schema_name},
                )
            elif config.scheme.startswith(("mysql", "mariadb")):
                rows = connection.execute(
                    sa.text(
                        "SELECT table_name, table_rows FROM information_schema.tables WHERE "
                        "table_schema = coalesce(:schema, database()) AND table_name IN :tables"
                    ).bindparams(sa.bindparam("tables", expanding=True)),
                    {"tables": tables, "schema": config.schema_name},
                )
            else:
                quote = connection.dialect.identifier_preparer.quote
                rows = (
                    (t, connection.execute(sa.text(f"SELECT count(*) FROM {quote(t)}")).scalar())  # nosec B608  # table names quoted by the dialect
                    for t in tables
                )
            return {str(name): int(count) for name, count in rows if count and count > 0}
    finally:
        engine.dispose()


def _connect_timeout(config: SqlDatabaseConfig, timeout: float) -> dict[str, Any]:
    """The driver's own connect timeout, so a check never hangs on an unreachable server."""
    return {} if config.scheme == "sqlite" else {"connect_timeout": max(1, round(timeout))}


def _refused(config: SqlDatabaseConfig, exc: BaseException) -> HealthStatus:
    """The database refused or could not be reached: the driver's reason and its category."""
    from floe_ingestion_dlt.errors import categorize_error

    orig = getattr(exc, "orig", None) or exc
    reason = " ".join(str(orig).split())
    category = categorize_error(exc).value
    return HealthStatus(
        HealthState.UNHEALTHY,
        f"{config.scheme} database: {type(orig).__name__}: {reason} ({category})",
        {"category": category},
    )
