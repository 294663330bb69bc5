"""Every common column type arrives in Iceberg with the value the source database holds."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from floe_testing.fixtures.databases import SourceDb
from floe_testing.fixtures.ingestion import FloeProject

DDL = {
    "sqlite": """CREATE TABLE {t} (id INTEGER PRIMARY KEY, small INTEGER, big BIGINT,
        amount DECIMAL(12, 2), ratio DOUBLE PRECISION, label TEXT, flag BOOLEAN, day DATE,
        at TIMESTAMP, at_tz TIMESTAMP, payload JSON)""",
    "postgresql": """CREATE TABLE {t} (id INTEGER PRIMARY KEY, small INTEGER, big BIGINT,
        amount NUMERIC(12, 2), ratio DOUBLE PRECISION, label TEXT, flag BOOLEAN, day DATE,
        at TIMESTAMP, at_tz TIMESTAMPTZ, payload JSONB)""",
    "mysql": """CREATE TABLE {t} (id INTEGER PRIMARY KEY, small INTEGER, big BIGINT,
        amount DECIMAL(12, 2), ratio DOUBLE, label TEXT, flag BOOLEAN, day DATE,
        at DATETIME(6), at_tz DATETIME(6), payload JSON) CHARACTER SET utf8mb4""",
}

ROWS: list[dict[str, object]] = [
    {
        "id": 1,
        "small": -7,
        "big": 9_007_199_254_740_993,
        "amount": Decimal("12345.67"),
        "ratio": 0.125,
        "label": "Zoë Ørsted — 日本語 🚀",
        "flag": True,
        "day": date(2024, 2, 29),
        "at": datetime(2024, 3, 1, 12, 30, 45, 123456),
        "at_tz": datetime(2024, 3, 1, 10, 0, 0, tzinfo=UTC),
        "payload": {"tags": ["a", "b"], "n": 3},
    },
    {
        "id": 2,
        "small": None,
        "big": None,
        "amount": None,
        "ratio": None,
        "label": None,
        "flag": None,
        "day": None,
        "at": None,
        "at_tz": None,
        "payload": None,
    },
]


def _insert(db: SourceDb) -> None:
    db.execute(DDL[db.dialect].format(t=db.table))
    params = []
    for row in ROWS:
        value = dict(row)
        if value["payload"] is not None:
            value["payload"] = json.dumps(value["payload"])
        at_tz = value["at_tz"]
        if db.dialect != "postgresql" and isinstance(at_tz, datetime):
            value["at_tz"] = at_tz.replace(tzinfo=None)
        if db.dialect == "sqlite" and value["amount"] is not None:
            value["amount"] = str(value["amount"])  # SQLite stores decimals as text or real
        params.append(value)
    columns = ", ".join(ROWS[0])
    values = ", ".join(f":{c}" for c in ROWS[0])
    db.execute(f"INSERT INTO {db.table} ({columns}) VALUES ({values})", params=params)


def _normalize(column: str, value: object) -> object:
    if value is None:
        return None
    if column == "payload":
        return json.loads(value) if isinstance(value, str) else value
    if column == "at_tz" and isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if column == "amount":
        return Decimal(value).quantize(Decimal("0.01"))  # type: ignore[arg-type]
    return value


def test_values_equal_the_source(floe_project: FloeProject, source_db: SourceDb) -> None:
    _insert(source_db)
    floe_project.write(
        f"""
        ingestion:
          sources:
            - name: src
              type: sql_database
              config: {{credentials: "{source_db.url}", tables: [{source_db.table}]}}
              destination: {{namespace: bronze}}
        """
    )
    run = floe_project.run()
    assert run.ok
    assert run.rows_loaded == 2
    assert run.rows_per_table == {f"bronze.{source_db.table}": 2}

    table = floe_project.read(f"bronze.{source_db.table}").sort_by("id")
    landed = [{c: _normalize(c, row[c]) for c in ROWS[0]} for row in table.to_pylist()]
    expected = [{c: _normalize(c, row[c]) for c in ROWS[0]} for row in ROWS]
    assert landed == expected


def test_sqlite_value_that_does_not_fit_its_column_names_the_column(
    floe_project: FloeProject, sqlite_db: SourceDb
) -> None:
    import pytest
    from floe_ingestion_dlt import IngestionError

    sqlite_db.execute(
        f"CREATE TABLE {sqlite_db.table} (id INTEGER PRIMARY KEY, v INTEGER)",
        f"INSERT INTO {sqlite_db.table} VALUES (1, 1), (2, 'not a number')",
    )
    floe_project.write(
        f"""
        retry: {{max_retries: 0}}
        ingestion:
          sources:
            - name: mixed
              type: sql_database
              config: {{credentials: "{sqlite_db.url}", tables: [{sqlite_db.table}]}}
              destination: {{namespace: bronze}}
        """
    )
    with pytest.raises(IngestionError) as caught:
        floe_project.run()
    assert "field `v`" in str(caught.value)
    assert "not a number" in str(caught.value)
