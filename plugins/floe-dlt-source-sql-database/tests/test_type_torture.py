"""Every type of PostgreSQL, MariaDB and SQLite, through every backend, lands exactly, as its
documented text, or fails its table naming the column; read back with pyiceberg and DuckDB.

A case's ``kind`` is how its values land: ``exact`` (the same value in the Iceberg type),
``represented`` (an exact, documented text of it) or ``refused`` (the load of that table fails
naming the column until the column has an override; ``override`` and ``overridden`` say what then
lands).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from floe_ingestion_dlt import ErrorCategory, SourceDataError
from floe_testing.duckdb_reader import read_iceberg
from floe_testing.fixtures.databases import Database, SourceDb
from floe_testing.fixtures.ingestion import FloeProject


def f32(value: Any) -> Any:
    """A float as the single-precision value the column stores."""
    if not isinstance(value, float):
        return value
    return struct.unpack("f", struct.pack("f", value))[0]


@dataclass(frozen=True)
class Case:
    column: str
    ddl: str
    values: tuple[str, ...]  # SQL literals
    expected: tuple[Any, ...]  # what reads back from Iceberg
    iceberg: str  # the Iceberg type it lands as
    kind: Literal["exact", "represented", "refused"] = "exact"
    norm: Callable[[Any], Any] | None = None  # applied to source and landed values alike
    driver: bool = True  # the driver returns ``expected`` too (checked for exact cases)
    override: str = "text"  # refused cases: config.columns type that makes it land
    overridden: tuple[Any, ...] = field(default=())


D = Decimal
BIG_JSON = '{"b": 1, "a": 12345678901234567890123, "c": 1.10, "d": [0.1000000000000000055511]}'
N38 = "9" * 38

POSTGRESQL = [
    Case("c_smallint", "smallint", ("-32768", "32767"), (-32768, 32767), "int|long"),
    Case("c_int", "integer", ("-2147483648", "2147483647"), (-(2**31), 2**31 - 1), "int|long"),
    Case("c_bigint", "bigint", (str(-(2**63)), str(2**63 - 1)), (-(2**63), 2**63 - 1), "long"),
    Case(
        "c_real",
        "real",
        ("0.1", "'NaN'", "'Infinity'", "'-Infinity'"),
        (f32(0.1), float("nan"), float("inf"), float("-inf")),
        "float",
        norm=f32,
    ),
    Case(
        "c_double",
        "double precision",
        ("0.1", "1.7976931348623157e308", "5e-324", "'NaN'", "'-Infinity'", "'-0'"),
        (0.1, 1.7976931348623157e308, 5e-324, float("nan"), float("-inf"), -0.0),
        "double",
    ),
    Case(
        "c_num_12_2",
        "numeric(12,2)",
        ("1234567890.12", "-0.01", "0"),
        (D("1234567890.12"), D("-0.01"), D("0.00")),
        "decimal(12, 2)",
    ),
    Case(
        "c_num_38_10",
        "numeric(38,10)",
        ("9999999999999999999999999999.9999999999", "-0.0000000001"),
        (D("9999999999999999999999999999.9999999999"), D("-1E-10")),
        "decimal(38, 10)",
    ),
    Case("c_num_38_0", "numeric(38)", (N38, "-" + N38), (D(N38), D("-" + N38)), "decimal(38, 0)"),
    Case(
        "c_numeric",
        "numeric",
        (
            "0.000000000000000000000000001",
            "1.23456789012345",
            "'NaN'",
            "1" + "0" * 40,
            "'-Infinity'",
        ),
        ("0.000000000000000000000000001", "1.23456789012345", "NaN", "1" + "0" * 40, "-Infinity"),
        "string",
        "represented",
    ),
    Case(
        "c_num_50_20",
        "numeric(50,20)",
        ("123456789012345678901234567890.12345678901234567890",),
        ("123456789012345678901234567890.12345678901234567890",),
        "string",
        "represented",
    ),
    Case(
        "c_num_neg_scale",
        "numeric(3,-2)",
        ("12345",),
        ("12300",),  # PostgreSQL rounds on insert; its text of what it holds
        "string",
        "represented",
    ),
    Case(
        "c_money",
        "money",
        ("92233720368547758.07", "-92233720368547758.08", "0.01"),
        (D("92233720368547758.07"), D("-92233720368547758.08"), D("0.01")),
        "decimal(19, 2)",
        driver=False,  # psycopg2 returns money as its formatted text
    ),
    Case(
        "c_text",
        "text",
        ("'Zoë Ørsted — 日本語 🚀'", "''"),
        ("Zoë Ørsted — 日本語 🚀", ""),
        "string",
    ),
    Case("c_varchar", "varchar(10)", ("'ab'",), ("ab",), "string"),
    Case("c_char", "char(5)", ("'ab'",), ("ab   ",), "string"),
    Case("c_bytea", "bytea", ("'\\x00ff'", "''"), (b"\x00\xff", b""), "binary"),
    Case("c_bool", "boolean", ("true", "false"), (True, False), "boolean"),
    Case(
        "c_date",
        "date",
        ("'0001-01-01'", "'9999-12-31'", "'2024-02-29'"),
        (date(1, 1, 1), date(9999, 12, 31), date(2024, 2, 29)),
        "date",
    ),
    Case(
        "c_ts",
        "timestamp",
        ("'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'"),
        (datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)),
        "timestamp",
    ),
    Case(
        "c_tstz",
        "timestamptz",
        ("'2024-03-01 12:00:00.000001+05:30'",),
        (datetime(2024, 3, 1, 6, 30, 0, 1, tzinfo=UTC),),
        "timestamptz",
    ),
    Case(
        "c_time",
        "time",
        ("'00:00:00'", "'23:59:59.999999'"),
        (time(0), time(23, 59, 59, 999999)),
        "time",
    ),
    Case(
        "c_timetz",
        "timetz",
        ("'12:34:56.789+05:30'", "'00:00:00-12'"),
        ("12:34:56.789+05:30", "00:00:00-12"),
        "string",
        "represented",
    ),
    Case(
        "c_interval",
        "interval",
        ("'1 year 2 mons 3 days 04:05:06.5'", "'-1 mons +2 days -00:00:01'", "'100 hours'"),
        ("P1Y2M3DT4H5M6.5S", "P0Y-1M2DT0H0M-1S", "P0Y0M0DT100H0M0S"),
        "string",
        "represented",
    ),
    Case(
        "c_inet",
        "inet",
        ("'192.168.1.5'", "'::1'", "'10.1.0.0/16'"),
        ("192.168.1.5/32", "::1/128", "10.1.0.0/16"),
        "string",
        "represented",
    ),
    Case("c_cidr", "cidr", ("'10.0.0.0/8'",), ("10.0.0.0/8",), "string", "represented"),
    Case(
        "c_macaddr",
        "macaddr",
        ("'08:00:2b:01:02:03'",),
        ("08:00:2b:01:02:03",),
        "string",
        "represented",
    ),
    Case(
        "c_uuid",
        "uuid",
        ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",),
        ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",),
        "string",
        "represented",
    ),
    Case("c_json", "json", (f"'{BIG_JSON}'",), (BIG_JSON,), "string", "represented"),
    Case(
        "c_jsonb",
        "jsonb",
        (f"'{BIG_JSON}'",),
        ('{"a": 12345678901234567890123, "b": 1, "c": 1.10, "d": [0.1000000000000000055511]}',),
        "string",
        "represented",
    ),
    Case(
        "c_int_arr",
        "integer[]",
        ("'{1,2,NULL}'", "'{}'"),
        ("{1,2,NULL}", "{}"),
        "string",
        "represented",
    ),
    Case("c_text_arr", "text[]", ("'{\"a b\",c}'",), ('{"a b",c}',), "string", "represented"),
    Case("c_enum", "mood", ("'happy'",), ("happy",), "string", "represented"),
    Case("c_bit", "bit(4)", ("B'0101'",), ("0101",), "string", "represented"),
    Case("c_varbit", "varbit", ("B'1'", "B''"), ("1", ""), "string", "represented"),
    Case("c_xml", "xml", ("'<a>1</a>'",), ("<a>1</a>",), "string", "represented"),
    Case("c_point", "point", ("'(1.5,2)'",), ("(1.5,2)",), "string", "represented"),
    Case("c_range", "int4range", ("'[1,5)'",), ("[1,5)",), "string", "represented"),
    Case(
        "c_date_inf",
        "date",
        ("'infinity'",),
        (),
        "date",
        "refused",
        overridden=("infinity",),
    ),
    Case(
        "c_ts_bc",
        "timestamp",
        ("'4713-01-01 00:00:00 BC'",),
        (),
        "timestamp",
        "refused",
        overridden=("4713-01-01 00:00:00 BC",),
    ),
    Case(
        "c_tstz_far",
        "timestamptz",
        ("'10000-01-01 00:00:00+00'",),
        (),
        "timestamptz",
        "refused",
        overridden=("10000-01-01 00:00:00+00",),
    ),
    Case("c_time_24", "time", ("'24:00:00'",), (), "time", "refused", overridden=("24:00:00",)),
    Case(
        "c_num_nan",
        "numeric(12,2)",
        ("'NaN'",),
        (),
        "decimal(12, 2)",
        "refused",
        overridden=("NaN",),
    ),
]

MYSQL = [
    Case("c_tinyint", "tinyint", ("-128", "127"), (-128, 127), "int|long"),
    Case("c_tinyint1", "tinyint(1)", ("5", "0"), (5, 0), "int|long"),
    Case("c_tinyint_u", "tinyint unsigned", ("255",), (255,), "long"),
    Case("c_smallint_u", "smallint unsigned", ("65535",), (65535,), "long"),
    Case("c_mediumint", "mediumint", ("-8388608", "8388607"), (-8388608, 8388607), "int|long"),
    Case("c_int_u", "int unsigned", ("4294967295",), (4294967295,), "long"),
    Case("c_bigint", "bigint", (str(-(2**63)), str(2**63 - 1)), (-(2**63), 2**63 - 1), "long"),
    Case(
        "c_bigint_u",
        "bigint unsigned",
        ("18446744073709551615", "0"),
        (D("18446744073709551615"), D(0)),
        "decimal(20, 0)",
        driver=False,  # the driver returns int
    ),
    Case("c_float", "float", ("0.1", "-3.4e38"), (f32(0.1), f32(-3.4e38)), "float", norm=f32),
    Case(
        "c_double",
        "double",
        ("0.1", "1.7976931348623157e308", "5e-324"),
        (0.1, 1.7976931348623157e308, 5e-324),
        "double",
    ),
    Case(
        "c_dec_12_2",
        "decimal(12,2)",
        ("1234567890.12", "-0.01"),
        (D("1234567890.12"), D("-0.01")),
        "decimal(12, 2)",
    ),
    Case(
        "c_dec_38_10",
        "decimal(38,10)",
        ("9999999999999999999999999999.9999999999",),
        (D("9999999999999999999999999999.9999999999"),),
        "decimal(38, 10)",
    ),
    Case(
        "c_dec_65_30",
        "decimal(65,30)",
        ("12345678901234567890123456789012345.123456789012345678901234567890",),
        ("12345678901234567890123456789012345.123456789012345678901234567890",),
        "string",
        "represented",
    ),
    Case("c_char", "char(5)", ("'ab'",), ("ab",), "string"),
    Case("c_varchar", "varchar(20)", ("'Zoë 🚀'", "''"), ("Zoë 🚀", ""), "string"),
    Case("c_text", "longtext", ("'日本語'",), ("日本語",), "string"),
    Case("c_binary", "binary(3)", ("'ab'",), (b"ab\x00",), "binary|fixed[3]"),
    Case("c_varbinary", "varbinary(4)", ("x'00ff'", "''"), (b"\x00\xff", b""), "binary"),
    Case("c_blob", "blob", ("x'00ff'",), (b"\x00\xff",), "binary"),
    Case(
        "c_date",
        "date",
        ("'1000-01-01'", "'9999-12-31'"),
        (date(1000, 1, 1), date(9999, 12, 31)),
        "date",
    ),
    Case(
        "c_datetime",
        "datetime(6)",
        ("'1000-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'"),
        (datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)),
        "timestamp|timestamptz",
        norm=lambda v: v.replace(tzinfo=None) if isinstance(v, datetime) else v,
    ),
    Case(
        "c_time",
        "time(6)",
        ("'-838:59:59'", "'01:02:03.5'"),
        ("-838:59:59.000000", "01:02:03.500000"),
        "string",
        "represented",
        driver=False,  # the driver returns timedelta
    ),
    Case(
        "c_timestamp",
        "timestamp(6) NULL",
        ("'2024-03-01 12:00:00.5'",),
        (datetime(2024, 3, 1, 12, 0, 0, 500000),),  # the session time zone: UTC here
        "timestamp|timestamptz",
        norm=lambda v: v.replace(tzinfo=None) if isinstance(v, datetime) else v,
    ),
    Case("c_inet6", "inet6", ("'::1'",), ("::1",), "string", "represented"),
    Case(
        "c_uuid",
        "uuid",
        ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",),
        ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",),
        "string",
        "represented",
    ),
    Case(
        "c_point",
        "point",
        ("ST_GeomFromText('POINT(0.1 -1e300)', 4326)",),
        ("SRID=4326;POINT(0.1 -1e300)",),
        "string",
        "represented",
    ),
    Case(
        "c_geometry",
        "geometry",
        ("ST_GeomFromText('LINESTRING(0 0, 1.5 2.25)')",),
        ("SRID=0;LINESTRING(0 0,1.5 2.25)",),
        "string",
        "represented",
    ),
    Case("c_year", "year", ("2024", "1901"), (2024, 1901), "long"),
    Case("c_bit4", "bit(4)", ("b'0101'",), ("0101",), "string", "represented"),
    Case("c_bit64", "bit(64)", ("b'" + "1" * 64 + "'",), ("1" * 64,), "string", "represented"),
    Case("c_enum", "enum('a','b')", ("'b'",), ("b",), "string", "represented"),
    Case("c_set", "set('x','y','z')", ("'x,z'", "''"), ("x,z", ""), "string", "represented"),
    Case("c_json", "json", (f"'{BIG_JSON}'",), (BIG_JSON,), "string", "represented"),
    Case(
        "c_zero_date",
        "date",
        ("'0000-00-00'",),
        (),
        "date",
        "refused",
        overridden=("0000-00-00",),
    ),
    Case(
        "c_zero_part",
        "datetime",
        ("'2024-00-15 10:00:00'",),
        (),
        "timestamp",
        "refused",
        overridden=("2024-00-15 10:00:00",),
    ),
]

SQLITE = [
    Case("c_int", "INTEGER", (str(-(2**63)), str(2**63 - 1)), (-(2**63), 2**63 - 1), "long"),
    Case(
        "c_real", "REAL", ("0.1", "1.7976931348623157e308"), (0.1, 1.7976931348623157e308), "double"
    ),
    Case("c_text", "TEXT", ("'Zoë 🚀'", "''"), ("Zoë 🚀", ""), "string"),
    Case("c_blob", "BLOB", ("x'00ff'",), (b"\x00\xff",), "binary"),
    Case(
        "c_dec_12_2",
        "DECIMAL(12,2)",
        ("'1234567890.12'", "'-0.01'"),
        (D("1234567890.12"), D("-0.01")),
        "decimal(12, 2)",
        driver=False,  # the driver returns the stored float
    ),
    Case(
        "c_dec_38_10",
        "DECIMAL(38,10)",
        ("'12345678901234567890.1234567891'",),
        (D("12345678901234600000.0000000000"),),  # SQLite keeps 15 digits of it (a REAL)
        "decimal(38, 10)",
        driver=False,
    ),
    Case(
        "c_dec_rounded",
        "DECIMAL(38,10)",
        ("'9999999999999999999999999999.9999999999'",),  # SQLite holds the REAL 1.0e+28
        (),
        "decimal(38, 10)",
        "refused",
        overridden=("1.0e+28",),
    ),
    Case(
        "c_numeric",
        "NUMERIC",
        ("'1.5'", "'12345678901234567890123456789'", "0.1 + 0.2"),
        ("1.5", "1.2345678901234568e+28", "0.30000000000000004"),  # REALs SQLite holds
        "string",
        "represented",
    ),
    Case("c_json", "JSON", (f"'{BIG_JSON}'",), (BIG_JSON,), "string", "represented"),
    Case("c_date", "DATE", ("'2024-02-29'",), (date(2024, 2, 29),), "date", driver=False),
    Case(
        "c_ts",
        "TIMESTAMP",
        ("'2024-03-01 12:30:45.123456'",),
        (datetime(2024, 3, 1, 12, 30, 45, 123456),),
        "timestamp|timestamptz",
        norm=lambda v: v.replace(tzinfo=None) if isinstance(v, datetime) else v,
        driver=False,
    ),
    Case("c_bool", "BOOLEAN", ("1", "0"), (True, False), "boolean", driver=False),
]

CASES: dict[str, list[Case]] = {"postgresql": POSTGRESQL, "mysql": MYSQL, "sqlite": SQLITE}


BACKENDS = {
    "postgresql": ["connectorx", "pyarrow", "sqlalchemy", "pandas"],
    "mysql": ["connectorx", "pyarrow", "sqlalchemy", "pandas"],
    "sqlite": ["default", "pyarrow", "sqlalchemy", "connectorx", "pandas"],
}


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SourceDb]:
    dialect = request.param
    if dialect == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'source.db'}", "sqlite", "source")
    else:
        database = request.getfixturevalue(
            "postgres_db" if dialect == "postgresql" else "mariadb_db"
        )
    source = SourceDb(database)
    if dialect == "postgresql":
        source.execute(
            "DO $$ BEGIN CREATE TYPE mood AS ENUM ('sad', 'happy'); "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    yield source
    source.dispose()


def _params() -> list[Any]:
    return [
        pytest.param(dialect, backend, id=f"{dialect}-{backend}")
        for dialect, backends in BACKENDS.items()
        for backend in backends
    ]


def _create(db: SourceDb, cases: list[Case]) -> int:
    """The table with one column per case, a row per value and a last row of NULLs."""
    columns = ", ".join(f"{c.column} {c.ddl}" for c in cases)
    suffix = " CHARACTER SET utf8mb4" if db.dialect == "mysql" else ""
    db.execute(f"CREATE TABLE {db.table} (id INTEGER PRIMARY KEY, {columns}){suffix}")
    rows = max(len(c.values) for c in cases) + 1
    for row in range(rows):
        values = ", ".join(c.values[row] if row < len(c.values) else "NULL" for c in cases)
        db.execute(
            f"INSERT INTO {db.table} (id, {', '.join(c.column for c in cases)}) "
            f"VALUES ({row + 1}, {values})"
        )
    return rows


def _project(project: FloeProject, db: SourceDb, backend: str, extra: str = "") -> FloeProject:
    backend_line = "" if backend == "default" else f", backend: {backend}"
    return project.write(
        f"""
        retry: {{max_retries: 0}}
        ingestion:
          sources:
            - name: src
              type: sql_database
              config: {{credentials: "{db.url}", tables: [{db.table}]{backend_line}{extra}}}
              destination: {{namespace: bronze}}
        """
    )


def _norm(case: Case, value: Any) -> Any:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC)
    return case.norm(value) if case.norm else value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return repr(a) == repr(b)  # NaN equals NaN; -0.0 is not 0.0
    return bool(a == b) and type(a) is type(b)


def _expected_column(case: Case, rows: int) -> list[Any]:
    return [*case.expected, *[None] * (rows - len(case.expected))]


def _check(case: Case, landed: list[Any], rows: int, reader: str) -> None:
    expected = [_norm(case, v) for v in _expected_column(case, rows)]
    got = [_norm(case, v) for v in landed]
    wrong = [(e, g) for e, g in zip(expected, got, strict=True) if not _same(e, g)]
    assert not wrong, f"{case.column} ({case.ddl}) read by {reader}: expected, got {wrong}"


def _metadata_location(project: FloeProject, name: str) -> str:
    from floe_dlt_destination_iceberg.catalog import open_catalog

    table = open_catalog(project.plugin().settings).load_table(tuple(name.split(".")))
    return str(table.metadata_location)


def _iceberg_types(project: FloeProject, name: str) -> dict[str, str]:
    from floe_dlt_destination_iceberg.catalog import open_catalog

    table = open_catalog(project.plugin().settings).load_table(tuple(name.split(".")))
    return {f.name: str(f.field_type) for f in table.schema().fields}


@pytest.mark.parametrize(("db", "backend"), _params(), indirect=["db"])
def test_every_type_lands_exactly_or_as_its_text(
    floe_project: FloeProject, db: SourceDb, backend: str
) -> None:
    cases = [c for c in CASES[db.dialect] if c.kind != "refused"]
    rows = _create(db, cases)
    [planned] = _project(floe_project, db, backend).plugin().engine.plan("src").tables
    run = floe_project.run()
    assert run.ok
    assert run.rows_per_table == {f"bronze.{db.table}": rows}

    name = f"bronze.{db.table}"
    by_pyiceberg = floe_project.read(name).sort_by("id")
    by_duckdb = read_iceberg(_metadata_location(floe_project, name), "SELECT * FROM t ORDER BY id")
    types = _iceberg_types(floe_project, name)
    for case in cases:
        assert types[case.column] in case.iceberg.split("|"), (case.column, types[case.column])
        _check(case, by_pyiceberg[case.column].to_pylist(), rows, "pyiceberg")
        _check(case, by_duckdb[case.column].to_pylist(), rows, "duckdb")
    # floe ingest plan foretold the columns the table was created with, and the rows it read
    assert planned.preview.rows == rows
    foretold = _as_iceberg(planned.preview.schema)
    assert {n: types[n] for n in foretold} == foretold
    [again] = floe_project.plugin().engine.plan("src").tables
    assert again.state.column_changes == ()


def _as_iceberg(schema: Any) -> dict[str, str]:
    """The Iceberg types pyiceberg gives each column of an Arrow schema."""
    from dlt.common.libs.pyiceberg import ensure_iceberg_compatible_arrow_schema
    from pyiceberg.io.pyarrow import pyarrow_to_schema
    from pyiceberg.table.name_mapping import MappedField, NameMapping

    compatible = ensure_iceberg_compatible_arrow_schema(schema)
    mapping = NameMapping(
        [MappedField(field_id=i + 1, names=[name]) for i, name in enumerate(compatible.names)]
    )
    converted = pyarrow_to_schema(compatible, name_mapping=mapping)
    return {f.name: str(f.field_type) for f in converted.fields}


@pytest.mark.parametrize("db", ["postgresql", "mysql", "sqlite"], indirect=True)
def test_the_source_holds_the_expected_values(db: SourceDb) -> None:
    """The expected values of exact cases are what the database's own driver returns."""
    import sqlalchemy as sa

    cases = [c for c in CASES[db.dialect] if c.kind == "exact" and c.driver]
    rows = _create(db, cases)
    with db.engine.connect() as connection:
        result = connection.execute(sa.text(f"SELECT * FROM {db.table} ORDER BY id")).mappings()
        source = list(result)
    for case in cases:
        _check(case, [row[case.column] for row in source], rows, "the driver")


@pytest.mark.parametrize("db", ["postgresql", "mysql", "sqlite"], indirect=True)
def test_unrepresentable_values_fail_the_table_naming_the_column(
    floe_project: FloeProject, db: SourceDb
) -> None:
    """Each refused column fails the load in turn, until every one has an override."""
    cases = [c for c in CASES[db.dialect] if c.kind == "refused"]
    _create(db, cases)
    overrides: list[str] = []
    for case in cases:
        columns = f", columns: {{{db.table}: {{{', '.join(overrides)}}}}}" if overrides else ""
        with pytest.raises(SourceDataError) as caught:
            _project(floe_project, db, "default", columns).run()
        message = str(caught.value)
        assert f"table {db.table}, column {case.column}: " in message
        assert f"config.columns.{db.table}.{case.column}.type: text" in message
        assert caught.value.category is ErrorCategory.PERMANENT
        assert "\n" not in message
        overrides.append(f"{case.column}: {{type: {case.override}}}")

    columns = f", columns: {{{db.table}: {{{', '.join(overrides)}}}}}"
    run = _project(floe_project, db, "default", columns).run()
    assert run.ok
    landed = floe_project.read(f"bronze.{db.table}").sort_by("id")
    for case in cases:
        assert landed[case.column].to_pylist() == [*case.overridden, None]


@pytest.mark.parametrize("db", ["postgresql", "mysql"], indirect=True)
def test_incremental_loads_check_only_the_rows_they_read(
    floe_project: FloeProject, db: SourceDb
) -> None:
    bad = "'infinity'" if db.dialect == "postgresql" else "'0000-00-00'"
    db.execute(
        f"CREATE TABLE {db.table} (id INTEGER PRIMARY KEY, amount NUMERIC(12,2), d DATE)",
        f"INSERT INTO {db.table} VALUES (1, 1.5, '2024-01-01')",
    )
    project = _project(floe_project, db, "default", ", cursor_field: id")
    assert project.run().rows_loaded == 1

    db.execute(f"INSERT INTO {db.table} VALUES (2, 2.25, {bad})")
    with pytest.raises(SourceDataError) as caught:
        project.run()
    assert f"table {db.table}, column d: " in str(caught.value)

    db.execute(f"UPDATE {db.table} SET d = '2024-01-02' WHERE id = 2")
    assert project.run().rows_loaded == 1
    landed = project.read(f"bronze.{db.table}").sort_by("id")
    assert landed["amount"].to_pylist() == [Decimal("1.50"), Decimal("2.25")]
    assert landed["d"].to_pylist() == [date(2024, 1, 1), date(2024, 1, 2)]
