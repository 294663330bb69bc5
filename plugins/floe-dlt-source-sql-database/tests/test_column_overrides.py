"""``config.columns`` and ``config.zero_dates``: a column lands as the user asks, still exactly."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from floe_ingestion_dlt import PipelineConfigurationError, SourceDataError
from floe_testing.fixtures.databases import SourceDb
from floe_testing.fixtures.ingestion import FloeProject


def _project(project: FloeProject, db: SourceDb, extra: str) -> FloeProject:
    return project.write(
        f"""
        retry: {{max_retries: 0}}
        ingestion:
          sources:
            - name: src
              type: sql_database
              config: {{credentials: "{db.url}", tables: [{db.table}], {extra}}}
              destination: {{namespace: bronze}}
        """
    )


def _types(project: FloeProject, name: str) -> dict[str, str]:
    from floe_dlt_destination_iceberg.catalog import open_catalog

    table = open_catalog(project.plugin().settings).load_table(tuple(name.split(".")))
    return {f.name: str(f.field_type) for f in table.schema().fields}


def test_decimal_override_lands_exactly_and_refuses_what_does_not_fit(
    floe_project: FloeProject, postgres_db: object
) -> None:
    db = SourceDb(postgres_db)  # type: ignore[arg-type]
    db.execute(
        f"CREATE TABLE {db.table} (id INTEGER PRIMARY KEY, amount NUMERIC, code TEXT)",
        f"INSERT INTO {db.table} VALUES (1, 12345678901234.5678, '42'), (2, NULL, NULL)",
    )
    overrides = (
        f"columns: {{{db.table}: {{amount: {{type: 'decimal(18, 4)'}}, code: {{type: bigint}}}}}}"
    )
    assert _project(floe_project, db, overrides).run().rows_loaded == 2
    name = f"bronze.{db.table}"
    landed = floe_project.read(name).sort_by("id")
    assert landed["amount"].to_pylist() == [Decimal("12345678901234.5678"), None]
    assert landed["code"].to_pylist() == [42, None]
    assert _types(floe_project, name)["amount"] == "decimal(18, 4)"

    db.execute(f"INSERT INTO {db.table} VALUES (3, 0.00001, 'x')")
    with pytest.raises(SourceDataError) as caught:
        floe_project.run()
    assert (
        f"table {db.table}, column amount: '0.00001' does not fit decimal(18,4) exactly; "
        f"set config.columns.{db.table}.amount.type: text" in str(caught.value)
    )
    db.dispose()


def test_override_of_an_unselected_table_names_it(
    floe_project: FloeProject, sqlite_db: SourceDb
) -> None:
    sqlite_db.execute(f"CREATE TABLE {sqlite_db.table} (id INTEGER PRIMARY KEY)")
    _project(floe_project, sqlite_db, "columns: {orders: {amount: {type: text}}}")
    with pytest.raises(PipelineConfigurationError) as caught:
        floe_project.run()
    assert (
        f"source 'src' (sql_database): config.columns.orders: no selected table 'orders' "
        f"(selected: {sqlite_db.table})" in str(caught.value)
    )


def test_zero_dates_land_as_null_only_when_asked(
    floe_project: FloeProject, mariadb_db: object
) -> None:
    db = SourceDb(mariadb_db)  # type: ignore[arg-type]
    db.execute(
        f"CREATE TABLE {db.table} (id INTEGER PRIMARY KEY, d DATE, at DATETIME)",
        f"INSERT INTO {db.table} VALUES (1, '0000-00-00', '2024-01-02 03:04:05'), "
        "(2, '2024-02-29', '0000-00-00 00:00:00'), (3, NULL, NULL)",
    )
    with pytest.raises(SourceDataError) as caught:
        _project(floe_project, db, "chunk_size: 1000").run()
    message = str(caught.value)
    assert f"table {db.table}, column d: '0000-00-00' is a date with a zero part" in message
    assert "set config.zero_dates: as_null" in message

    assert _project(floe_project, db, "zero_dates: as_null").run().rows_loaded == 3
    landed = floe_project.read(f"bronze.{db.table}").sort_by("id")
    assert landed["d"].to_pylist() == [None, date(2024, 2, 29), None]
    assert [v.replace(tzinfo=None) if v else v for v in landed["at"].to_pylist()] == [
        datetime(2024, 1, 2, 3, 4, 5),
        None,
        None,
    ]
    db.dispose()
