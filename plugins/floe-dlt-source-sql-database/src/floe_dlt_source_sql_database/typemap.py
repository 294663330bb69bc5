"""How each reflected column is read so that its values land exactly.

A column is read natively when every backend returns its values unchanged; otherwise the SELECT
reads an exact text of it (the database's own text, or a documented one) and floe converts that
text in Arrow to the Iceberg type without loss, or fails the table naming the column. Values no
Iceberg type of the column can hold (infinite dates, MySQL zero dates) are looked for before
extraction and fail the table the same way. The README's type table documents each rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
import sqlalchemy as sa

from floe_dlt_source_sql_database.config import ColumnOverride

__all__ = ["ColumnPlan", "ZeroDates", "note_unknown_types", "plan_table"]

Expr = sa.ColumnElement[Any]
ZeroDates = Literal["fail", "as_null"]

#: Widest decimal Iceberg holds.
MAX_PRECISION = 38
#: MySQL/MariaDB spatial types, which SQLAlchemy does not know.
_SPATIAL = {
    "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
    "multipolygon", "geometrycollection",
}  # fmt: skip
#: Where a column SQLAlchemy does not know keeps the database's name of its type.
TYPE_INFO = "floe_source_type"


def note_unknown_types(url: str, tables: list[sa.Table], schema: str | None) -> None:
    """Record in ``column.info`` the MySQL/MariaDB type of each column SQLAlchemy reflected as
    ``NullType``, from ``information_schema``."""
    unknown = {
        (t.name, c.name): c
        for t in tables
        for c in t.columns
        if isinstance(c.type, sa.types.NullType)
    }
    if not unknown:
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
                    "WHERE TABLE_SCHEMA = COALESCE(:schema, DATABASE())"
                ),
                {"schema": schema},
            ).all()
    finally:
        engine.dispose()
    for table, column, data_type in rows:
        if (table, column) in unknown:
            unknown[(table, column)].info[TYPE_INFO] = str(data_type).lower()


@dataclass(frozen=True)
class ColumnPlan:
    """How one column is selected, converted and declared."""

    select: Expr  # the SELECT expression, labelled with the column's name
    hint: dict[str, Any]  # the dlt column hint of what lands
    read_hint: dict[str, Any]  # the dlt column hint of what the backend reads
    arrow: pa.DataType | None = None  # convert what was read to this type, exactly
    refuse: Expr | None = None  # rows matching this fail the load before extraction
    problem: str = ""  # why a refused or unconvertible value cannot land
    fix: str = ""  # how to make it land


def _hint(name: str, data_type: str, **extra: Any) -> dict[str, Any]:
    """A dlt column hint; a reflected length never becomes a fixed width or a decimal's."""
    return {
        "name": name,
        "data_type": data_type,
        "nullable": True,
        "precision": None,
        "scale": None,
        **extra,
    }


def _single(kind: Any, dialect: str) -> bool:
    """A single-precision float column (MySQL's REAL is a double)."""
    if _is_mysql(dialect):
        from sqlalchemy.dialects import mysql  # each dialect's types only when reading it

        return isinstance(kind, mysql.FLOAT) and (kind.precision or 0) <= 24
    return dialect == "postgresql" and isinstance(kind, sa.REAL)


def _is_mysql(dialect: str) -> bool:
    return dialect in ("mysql", "mariadb")


def _text(column: sa.Column[Any], dialect: str) -> Expr:
    """The exact text of a column's value in ``dialect``."""
    kind = column.type
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        if isinstance(kind, postgresql.MONEY):
            return sa.cast(sa.cast(column, sa.Numeric()), sa.Text)
        if isinstance(kind, postgresql.INTERVAL):
            return _iso_interval(column)
    if _is_mysql(dialect):
        from sqlalchemy.dialects import mysql

        if isinstance(kind, mysql.BIT):
            return sa.func.lpad(sa.func.bin(column), kind.length or 1, "0")
    if column.info.get(TYPE_INFO) in _SPATIAL:  # EWKT: WKT keeps each coordinate's double exactly
        return sa.func.concat("SRID=", sa.func.st_srid(column), ";", sa.func.st_astext(column))
    return sa.cast(column, sa.String if _is_mysql(dialect) else sa.Text)


def _iso_interval(column: sa.Column[Any]) -> Expr:
    """ISO 8601 duration text, each of PostgreSQL's fields kept (``P1Y2M3DT4H5M6.5S``)."""
    parts: list[Expr] = [sa.literal("P", sa.Text)]
    for field, unit in (("year", "Y"), ("month", "M"), ("day", "DT"), ("hour", "H")):
        parts += [sa.cast(sa.extract(field, column), sa.Text), sa.literal(unit, sa.Text)]
    parts += [
        sa.cast(sa.extract("minute", column), sa.Text),
        sa.literal("M", sa.Text),
        sa.cast(sa.func.trim_scale(sa.extract("second", column)), sa.Text),
        sa.literal("S", sa.Text),
    ]
    expr = parts[0]
    for part in parts[1:]:
        expr = expr.op("||")(part)  # || keeps NULL NULL, unlike concat()
    return expr


def _override(column: sa.Column[Any], dialect: str, override: ColumnOverride) -> ColumnPlan:
    name = column.name
    text = _text(column, dialect).label(name)
    read = _hint(name, "text")
    if override.type == "text":
        return ColumnPlan(text, _hint(name, "text"), read)
    if override.type == "bigint":
        return ColumnPlan(text, _hint(name, "bigint"), read, pa.int64(), problem="is not a bigint")
    precision, scale = override.decimal or (MAX_PRECISION, 0)
    return _decimal(column, dialect, precision, scale, text)


def _decimal(
    column: sa.Column[Any], dialect: str, precision: int, scale: int, text: Expr | None = None
) -> ColumnPlan:
    name = column.name
    return ColumnPlan(
        text if text is not None else _text(column, dialect).label(name),
        _hint(name, "decimal", precision=precision, scale=scale),
        _hint(name, "text"),
        pa.decimal128(precision, scale),
        problem=f"does not fit decimal({precision},{scale}) exactly",
    )


def _as_text(column: sa.Column[Any], dialect: str) -> ColumnPlan:
    name = column.name
    return ColumnPlan(_text(column, dialect).label(name), _hint(name, "text"), _hint(name, "text"))


def _numeric(column: sa.Column[Any], dialect: str) -> ColumnPlan:
    kind = column.type
    assert isinstance(kind, sa.Numeric)  # nosec B101  # narrows the type; checked upstream
    precision, scale = kind.precision, kind.scale or 0
    if precision is None or precision > MAX_PRECISION or not 0 <= scale <= precision:
        return _as_text(column, dialect)  # no Iceberg decimal holds every value: exact text
    return _decimal(column, dialect, precision, scale)


def _refusing(plan: ColumnPlan, refuse: Expr, problem: str, fix: str = "") -> ColumnPlan:
    return ColumnPlan(plan.select, plan.hint, plan.read_hint, plan.arrow, refuse, problem, fix)


def _native(column: sa.Column[Any]) -> ColumnPlan:
    hint = {"name": column.name}
    return ColumnPlan(column.label(column.name), hint, hint)


def _postgresql(column: sa.Column[Any]) -> ColumnPlan | None:
    from sqlalchemy.dialects import postgresql

    kind = column.type
    if isinstance(kind, postgresql.MONEY):
        return _decimal(column, "postgresql", 19, 2)  # int64 cents: 17 integer digits
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return _numeric(column, "postgresql")
    if isinstance(kind, sa.Time):
        if kind.timezone:
            return _as_text(column, "postgresql")  # Iceberg has no time with an offset
        return _refusing(
            _native(column),
            column == sa.cast(sa.literal("24:00:00"), sa.Time),
            "is 24:00:00, which an Iceberg time cannot hold",
        )
    if isinstance(kind, (sa.Date, sa.DateTime)):
        # ±infinity compare beyond every date; ranges an index on the column can answer
        first, after = (sa.cast(sa.literal(d), kind) for d in ("0001-01-01", "10000-01-01"))
        return _refusing(
            _native(column),
            sa.or_(column < first, column >= after),
            "is outside the years 1 to 9999 that every reader of a date takes",
        )
    native = (sa.Integer, sa.Float, sa.Boolean, sa.LargeBinary)
    if isinstance(kind, native) or (
        isinstance(kind, sa.String) and not isinstance(kind, (sa.Enum, postgresql.ENUM))
    ):
        return None
    return _as_text(column, "postgresql")  # the database's own text of every other type


def _mysql(column: sa.Column[Any], dialect: str, zero_dates: ZeroDates) -> ColumnPlan | None:
    from sqlalchemy.dialects import mysql

    kind = column.type
    name = column.name
    if isinstance(kind, sa.Integer) and getattr(kind, "unsigned", False):
        if isinstance(kind, mysql.BIGINT):
            return _decimal(column, dialect, 20, 0)  # up to 18446744073709551615
        hint = _hint(name, "bigint")
        return ColumnPlan(column.label(name), hint, hint, pa.int64())
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return _numeric(column, dialect)
    if isinstance(kind, mysql.YEAR):
        text = _text(column, dialect).label(name)
        return ColumnPlan(text, _hint(name, "bigint"), _hint(name, "text"), pa.int64())
    if isinstance(kind, (sa.Date, sa.DateTime)):
        zero = sa.or_(
            sa.func.year(column) == 0, sa.func.month(column) == 0, sa.func.day(column) == 0
        )
        if zero_dates == "as_null":
            return ColumnPlan(sa.case((zero, sa.null()), else_=column).label(name), {}, {})
        return _refusing(
            _native(column),
            zero,
            "is a date with a zero part, which no date holds",
            f"set config.zero_dates: as_null to land such dates as NULL, or "
            f"config.columns.{column.table.name}.{name}.type: text to land them as text",
        )
    if isinstance(kind, (sa.VARBINARY, sa.LargeBinary)):
        hint = _hint(name, "binary")  # a maximum length, not dlt's fixed-width binary
        return ColumnPlan(column.label(name), hint, hint)
    if isinstance(kind, (sa.Integer, sa.BINARY, sa.Boolean)) or (
        isinstance(kind, sa.String) and not isinstance(kind, (mysql.ENUM, mysql.SET))
    ):
        return None
    # TIME (a duration, -838:59:59 to 838:59:59), BIT, ENUM, SET, JSON, UUID, INET6, ...
    return _as_text(column, dialect)


def _sqlite(column: sa.Column[Any]) -> ColumnPlan | None:
    kind = column.type
    if isinstance(kind, sa.Numeric) and kind.precision is None:
        # NUMERIC affinity may hold a REAL; SQLite's own text of it keeps 15 digits, 17 are exact
        real = sa.func.printf("%!.17g", column)
        text = sa.case((sa.func.typeof(column) == "real", real), else_=sa.cast(column, sa.Text))
        name = column.name
        return ColumnPlan(text.label(name), _hint(name, "text"), _hint(name, "text"))
    if isinstance(kind, sa.Numeric):
        return _numeric(column, "sqlite")
    if isinstance(kind, sa.JSON):
        return _as_text(column, "sqlite")
    return None


def plan_table(
    table: sa.Table,
    dialect: str,
    overrides: dict[str, ColumnOverride] | None = None,
    zero_dates: ZeroDates = "fail",
) -> dict[str, ColumnPlan]:
    """The columns of ``table`` that are not read natively, by name, with how each is read."""
    plans: dict[str, ColumnPlan] = {}
    for column in table.columns:
        override = (overrides or {}).get(column.name)
        if override is not None:
            plan: ColumnPlan | None = _override(column, dialect, override)
        elif isinstance(column.type, sa.Float):
            # dlt maps only Numeric subclasses to a type, and SQLAlchemy 2.1's Float is not one;
            # MySQL's DOUBLE reflects as asdecimal, which would read floats as Decimal
            hint = _hint(column.name, "double")
            read: Expr = sa.type_coerce(column, sa.Double(asdecimal=False)).label(column.name)
            # drivers return a single-precision value as the double of its shortest text; the
            # nearest float32 to that is the stored value again
            single = pa.float32() if _single(column.type, dialect) else None
            plan = ColumnPlan(read, hint, hint, single)
        elif dialect == "postgresql":
            plan = _postgresql(column)
        elif _is_mysql(dialect):
            plan = _mysql(column, dialect, zero_dates)
        else:
            plan = _sqlite(column)
        if plan is not None:
            plans[column.name] = plan
    return plans
