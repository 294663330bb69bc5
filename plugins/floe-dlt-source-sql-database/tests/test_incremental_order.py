"""An incremental read is ordered by its cursor only where the order decides what lands: a merge
that keeps the last row of a key the table may hold more than once. Where the table's primary key
(or a NOT NULL unique constraint) is among the merge keys, the load is vouched for instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from floe_dlt_source_sql_database.config import SqlDatabaseConfig
from floe_dlt_source_sql_database.source import SqlDatabaseSource
from floe_ingestion_dlt.hints import UNIQUE_KEYS_HINT
from floe_ingestion_dlt.types import SourceContext
from floe_testing.fixtures.databases import SourceDb
from floe_testing.fixtures.ingestion import FloeProject


def test_a_merge_keeps_the_newest_row_of_a_key_a_table_without_a_key_holds_twice(
    floe_project: FloeProject, source_db: SourceDb
) -> None:
    # the newest version of id 1 is stored first: read in table order, the older would win
    source_db.execute(
        f"CREATE TABLE {source_db.table} (id INTEGER, name VARCHAR(20), updated_at TIMESTAMP)",
        f"INSERT INTO {source_db.table} VALUES (1, 'new', '2024-01-02 00:00:00')",
        f"INSERT INTO {source_db.table} VALUES (2, 'only', '2024-01-01 12:00:00')",
        f"INSERT INTO {source_db.table} VALUES (1, 'old', '2024-01-01 00:00:00')",
    )
    floe_project.write(
        f"""
        ingestion:
          sources:
            - name: src
              type: sql_database
              config: {{credentials: "{source_db.url}", tables: [{source_db.table}],
                        cursor_field: updated_at}}
              destination: {{namespace: bronze, write_mode: merge, primary_key: [id]}}
        """
    )

    floe_project.run()

    rows = floe_project.read(f"bronze.{source_db.table}").sort_by("id").to_pylist()
    assert [(r["id"], r["name"]) for r in rows] == [(1, "new"), (2, "only")]


@pytest.mark.parametrize(
    ("write_mode", "keys", "ordered"),
    [
        ("merge", ["id"], {"keyed": None, "unique_code": "asc", "nullable": "asc", "log": "asc"}),
        ("merge", ["code"], {"keyed": "asc", "unique_code": None, "nullable": "asc", "log": "asc"}),
        (
            "merge",
            ["id", "code"],
            {"keyed": None, "unique_code": None, "nullable": "asc", "log": "asc"},
        ),
        ("append", [], {"keyed": None, "unique_code": None, "nullable": None, "log": None}),
    ],
)
def test_the_cursor_orders_the_read_only_when_a_key_may_repeat(
    tmp_path: Path, write_mode: str, keys: list[str], ordered: dict[str, str | None]
) -> None:
    import sqlite3

    db = tmp_path / "s.db"
    with sqlite3.connect(db) as connection:
        connection.executescript(
            "CREATE TABLE keyed (id INTEGER PRIMARY KEY, code TEXT, updated_at TIMESTAMP);"
            "CREATE TABLE unique_code (id INTEGER, code TEXT NOT NULL UNIQUE, updated_at TIMESTAMP);"
            # a unique column may hold NULL many times, which a merge counts as one key
            "CREATE TABLE nullable (id INTEGER, code TEXT UNIQUE, updated_at TIMESTAMP);"
            "CREATE TABLE log (id INTEGER, code TEXT, updated_at TIMESTAMP);"
        )
    config = SqlDatabaseConfig(
        credentials=f"sqlite:///{db}", tables=list(ordered), cursor_field="updated_at"
    )
    context = SourceContext("s", str(tmp_path), write_mode=write_mode, primary_key=keys)  # type: ignore[arg-type]

    source = SqlDatabaseSource().build(config, context)

    found = {name: source.resources[name].incremental.incremental.row_order for name in ordered}
    assert found == ordered
    # where a key cannot repeat in a load, the destination is told so and does not search
    vouched = {
        name
        for name in ordered
        if source.resources[name].compute_table_schema().get(UNIQUE_KEYS_HINT)
    }
    assert vouched == {
        name for name, order in ordered.items() if write_mode == "merge" and not order
    }
