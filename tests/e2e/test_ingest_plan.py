"""``floe ingest plan``: what a run would do, with every file of the project left as it was."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from floe_testing.fixtures.databases import Database, SourceDb
from floe_testing.fixtures.ingestion import FloeProject
from floe_testing.orders import floe, good_rows, orders_db, write_project

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart"
CHECKS = """
      checks:
        orders:
          - unique: [id]
          - row_count: {min: 1}
            severity: warn
"""


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("floe.yaml", "shop.db"):
        shutil.copy(QUICKSTART / name, tmp_path / name)
    with (tmp_path / "floe.yaml").open("a", encoding="utf-8") as file:
        file.write(CHECKS)
    return tmp_path


def test_plan_of_a_fresh_project_creates_nothing(project: Path) -> None:
    before = _hashes(project)
    result = floe("ingest", "plan", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    assert _hashes(project) == before  # no .floe folder, no catalog, no pipeline state
    [shop] = json.loads(result.stdout)["sources"]
    assert (shop["write_mode"], shop["merge_strategy"], shop["publish"]) == (
        "merge",
        "upsert",
        "direct",
    )
    orders = next(t for t in shop["tables"] if t["table"] == "bronze.orders")
    assert orders["exists"] is False
    assert orders["reads_after"] is None
    assert orders["checks"] == ["unique(id) [error]", "row_count(min=1) [warn]"]


def test_plan_after_a_run_shows_the_stored_cursor_and_changes_nothing(project: Path) -> None:
    assert floe("ingest", "run", cwd=project).returncode == 0
    with sqlite3.connect(project / "shop.db") as db:
        [(latest,)] = db.execute("SELECT max(updated_at) FROM orders").fetchall()
    before = _hashes(project)

    result = floe("ingest", "plan", cwd=project)
    as_json = floe("ingest", "plan", "--json", "--source", "shop", cwd=project)

    assert result.returncode == 0, result.stderr
    assert _hashes(project) == before  # catalog, warehouse and pipeline state byte-identical
    assert "source shop (sql_database): merge (upsert), publish direct" in result.stdout
    orders = next(
        t
        for t in json.loads(as_json.stdout)["sources"][0]["tables"]
        if t["table"] == "bronze.orders"
    )
    assert orders["exists"] is True
    assert orders["rows"] == 5000
    assert orders["reads_after"].replace(" ", "T") == latest.replace(" ", "T")
    assert f"updated_at > {orders['reads_after']}" in result.stdout


def test_plan_of_an_unknown_source_exits_2(project: Path) -> None:
    result = floe("ingest", "plan", "--source", "nope", cwd=project)
    assert result.returncode == 2
    assert "no source named 'nope'" in result.stderr


def _write_source(project: Path, contract: str, extra: str = "") -> None:
    config = project / "floe.yaml"
    text = config.read_text(encoding="utf-8").replace(
        "primary_key: id", f"primary_key: id\n        schema_contract: {contract}{extra}"
    )
    config.write_text(text, encoding="utf-8")


def _touch_orders(project: Path, *statements: str) -> None:
    with sqlite3.connect(project / "shop.db") as db:
        for statement in statements:
            db.execute(statement)


def test_a_new_column_under_freeze_is_refused_by_plan_and_run(project: Path) -> None:
    _write_source(project, "freeze")
    assert floe("ingest", "run", cwd=project).returncode == 0
    _touch_orders(
        project,
        "ALTER TABLE orders ADD COLUMN note TEXT",
        "UPDATE orders SET note = 'gift', updated_at = '2030-01-01 00:00:00' WHERE id <= 3",
    )
    before = _hashes(project)

    plan = floe("ingest", "plan", cwd=project)
    as_json = json.loads(floe("ingest", "plan", "--json", cwd=project).stdout)

    assert plan.returncode == 1, plan.stdout + plan.stderr
    assert _hashes(project) == before
    assert plan.stderr.splitlines() == [
        "refused: bronze.orders: new column note (string) violates schema_contract: freeze"
    ]
    assert "bronze.orders: column note: new -> string, contract violation (freeze)" in plan.stdout
    [shop] = as_json["sources"]
    assert shop["would_succeed"] is False
    orders = next(t for t in shop["tables"] if t["table"] == "bronze.orders")
    assert orders["estimate"]["rows"] == 3
    run = floe("ingest", "run", cwd=project)
    assert run.returncode == 1
    assert "Can't add table column `note`" in run.stdout


def test_discard_value_says_which_values_a_run_drops(project: Path) -> None:
    _write_source(project, "discard_value")
    assert floe("ingest", "run", cwd=project).returncode == 0
    _touch_orders(
        project,
        "ALTER TABLE orders ADD COLUMN note TEXT",
        "UPDATE orders SET note = 'gift', updated_at = '2030-01-01 00:00:00' WHERE id <= 3",
    )

    plan = floe("ingest", "plan", cwd=project)

    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "bronze.orders: column note: new -> string, values dropped (discard_value)" in (
        plan.stdout
    )
    assert floe("ingest", "run", cwd=project).returncode == 0
    shown = floe("tables", "show", "bronze.orders", "--limit", "1", cwd=project)
    assert "note" not in shown.stdout


def test_plan_shows_partition_and_sort_changes_the_run_then_makes(project: Path) -> None:
    assert floe("ingest", "run", cwd=project).returncode == 0
    _write_source(
        project,
        "evolve",
        '\n        partition_by: ["month(updated_at)"]\n        sort_by: ["id desc"]',
    )
    before = _hashes(project)

    plan = floe("ingest", "plan", "--json", cwd=project)

    assert plan.returncode == 0, plan.stderr
    assert _hashes(project) == before
    orders = next(
        t for t in json.loads(plan.stdout)["sources"][0]["tables"] if t["table"] == "bronze.orders"
    )
    assert orders["layout_changes"] == [
        "partition_by: add month(updated_at)",
        "sort_by: id desc (now: none)",
    ]
    _touch_orders(project, "UPDATE orders SET updated_at = '2030-01-01 00:00:00' WHERE id = 1")
    assert floe("ingest", "run", cwd=project).returncode == 0
    again = json.loads(floe("ingest", "plan", "--json", cwd=project).stdout)
    changed = {t["table"]: t["layout_changes"] for t in again["sources"][0]["tables"]}
    assert changed["bronze.orders"] == []
    # a table gets its new layout with the next load that writes to it
    assert changed["bronze.customers"] == [
        "partition_by: add month(updated_at)",
        "sort_by: id desc (now: none)",
    ]


def test_a_layout_column_the_table_lacks_is_refused(project: Path) -> None:
    assert floe("ingest", "run", cwd=project).returncode == 0
    _write_source(project, "evolve", '\n        sort_by: ["shipped_at"]')

    plan = floe("ingest", "plan", cwd=project)

    assert plan.returncode == 1
    assert (
        "refused: table bronze.orders: destination.partition_by/sort_by: no column 'shipped_at'"
        in plan.stderr.splitlines()
    )


@pytest.fixture
def pg(postgres_db: Database) -> Iterator[SourceDb]:
    source = SourceDb(postgres_db)
    yield source
    source.dispose()


def _sql_project(project: FloeProject, db: SourceDb) -> None:
    project.write(
        f"""
        ingestion:
          sources:
            - name: items
              type: sql_database
              config: {{credentials: '{db.url}', tables: [{db.table}], cursor_field: updated}}
              destination: {{namespace: bronze}}
        """
    )


def _columns(project: FloeProject, table: str) -> dict[str, str]:
    from floe_dlt_destination_iceberg.catalog import open_catalog

    loaded = open_catalog(project.plugin().engine.settings).load_table(("bronze", table))
    return {f.name: str(f.field_type) for f in loaded.schema().fields}


def _plan(project: FloeProject, source: str) -> Any:
    [table] = project.plugin().engine.plan(source).tables
    return table


def test_the_schema_diff_of_plan_is_what_the_next_run_does(
    floe_project: FloeProject, pg: SourceDb
) -> None:
    t = pg.table
    pg.execute(
        f"CREATE TABLE {t} (id bigint PRIMARY KEY, qty smallint, price real, "
        "amount numeric(10,2), updated timestamp)",
        f"INSERT INTO {t} SELECT i, i, i * 1.5, i * 2.25, timestamp '2024-01-01' + i * "
        "interval '1 hour' FROM generate_series(1, 20) i",
    )
    _sql_project(floe_project, pg)
    assert _plan(floe_project, "items").preview.rows == 20
    assert floe_project.run().rows_loaded == 20
    before = _columns(floe_project, t)
    pg.execute(
        f"ALTER TABLE {t} ALTER COLUMN qty TYPE bigint, ALTER COLUMN price TYPE double "
        "precision, ALTER COLUMN amount TYPE numeric(14,2), ADD COLUMN label text",
        f"INSERT INTO {t} SELECT i, i, i * 1.5, i * 2.25, timestamp '2025-01-01' + i * "
        "interval '1 hour', 'new' FROM generate_series(21, 25) i",
    )

    plan = _plan(floe_project, "items")

    assert plan.preview.rows == 5
    assert plan.preview.how == "count(*) where updated > 2024-01-01 20:00:00"
    diff = {c.column: (c.change, c.before, c.after) for c in plan.state.column_changes}
    assert diff == {
        "qty": ("promote", "int", "long"),
        "price": ("promote", "float", "double"),
        "amount": ("promote", "decimal(10, 2)", "decimal(14, 2)"),
        "label": ("add", None, "string"),
    }
    assert plan.refusals == ()
    assert floe_project.run().rows_loaded == 5
    after = _columns(floe_project, t)
    assert after == {**before, **{name: new for name, (_, _, new) in diff.items()}}
    settled = _plan(floe_project, "items")
    assert (settled.state.column_changes, settled.preview.rows) == ((), 0)


def test_a_type_change_iceberg_refuses_fails_plan_and_run_naming_the_column(
    floe_project: FloeProject, pg: SourceDb
) -> None:
    t = pg.table
    pg.execute(
        f"CREATE TABLE {t} (id bigint PRIMARY KEY, amount numeric(10,2), updated timestamp)",
        f"INSERT INTO {t} VALUES (1, 1.25, '2024-01-01')",
    )
    _sql_project(floe_project, pg)
    floe_project.run()
    pg.execute(
        f"ALTER TABLE {t} ALTER COLUMN amount TYPE numeric(10,4)",
        f"INSERT INTO {t} VALUES (2, 2.5, '2024-02-01')",
    )
    before = _hashes(floe_project.root)

    plan = floe("ingest", "plan", cwd=floe_project.root)

    assert plan.returncode == 1, plan.stdout + plan.stderr
    assert _hashes(floe_project.root) == before
    assert plan.stderr.splitlines() == [
        f"refused: bronze.{t}: column amount cannot change from decimal(10, 2) to "
        "decimal(10, 4) (Iceberg widens a decimal's precision only, never its scale)"
    ]
    outcome = floe_project.plugin().load("items")
    assert not outcome.ok
    assert f"table {t}: column amount cannot change from decimal(10, 2) to decimal(10, 4)" in (
        str(outcome.error)
    )


def _catalog_state(project: FloeProject, namespace: str) -> tuple[str, ...]:
    from floe_dlt_destination_iceberg.catalog import open_catalog

    catalog = open_catalog(project.plugin().engine.settings)
    return tuple(
        catalog.load_table(name).metadata_location for name in catalog.list_tables(namespace)
    )


def test_plan_changes_no_file_nor_the_catalog_on_each_catalog(
    floe_project_each_catalog: FloeProject,
) -> None:
    project = floe_project_each_catalog
    namespace = f"plan_{uuid.uuid4().hex[:8]}"  # the PostgreSQL and REST catalogs are shared
    orders_db(project.root, good_rows(range(1, 6)))
    write_project(project, publish="audit", write_mode="merge")
    project.file.write_text(
        project.file.read_text().replace("namespace: bronze", f"namespace: {namespace}")
    )
    assert project.run().ok
    orders_db(project.root, good_rows(range(1, 9)))
    files, catalog = _hashes(project.root), _catalog_state(project, namespace)

    result = floe("ingest", "plan", "--json", cwd=project.root)

    assert result.returncode == 0, result.stderr
    assert _hashes(project.root) == files  # pipeline state, warehouse, embedded catalog
    assert _catalog_state(project, namespace) == catalog
    [orders] = json.loads(result.stdout)["sources"][0]["tables"]
    assert orders["table"] == f"{namespace}.orders"
    assert (orders["estimate"]["rows"], orders["schema_diff"]) == (3, [])


def test_a_slow_count_is_cut_off_by_the_statement_timeout(
    floe_project: FloeProject, pg: SourceDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    from floe_ingestion_dlt import plan as planning

    pg.execute(
        f"CREATE VIEW {pg.table} AS SELECT i AS id, now() AS updated "
        "FROM generate_series(1, 3) i, pg_sleep(5)"
    )
    _sql_project(floe_project, pg)
    monkeypatch.setattr(planning, "PREVIEW_TIMEOUT_SECONDS", 0.5)

    source = floe_project.plugin().engine.plan("items")

    assert source.source_error.startswith("cannot be asked: QueryCanceled: canceling statement")
    assert source.refusals == (f"source items: {source.source_error}",)
    [table] = source.tables
    assert table.preview is None
    assert table.as_dict()["estimate"]["how"] == source.source_error


def test_a_rest_source_is_planned_without_being_asked(project: Path) -> None:
    (project / "floe.yaml").write_text(
        """
ingestion:
  sources:
    - name: api
      type: rest_api
      config:
        client: {base_url: "http://127.0.0.1:9/"}
        resources: [items]
      destination: {namespace: raw}
""",
        encoding="utf-8",
    )

    result = floe("ingest", "plan", "--json", cwd=project)

    assert result.returncode == 0, result.stderr
    [items] = json.loads(result.stdout)["sources"][0]["tables"]
    assert items["estimate"] == {
        "rows": None,
        "files": None,
        "bytes": None,
        "how": "unknown: a rest_api source cannot tell without reading",
    }
    assert not (project / ".floe").exists()


def test_a_slow_count_on_mariadb_is_cut_off_too(
    floe_project: FloeProject, mariadb_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from floe_ingestion_dlt import plan as planning

    db = SourceDb(mariadb_db)
    try:
        db.execute(
            f"CREATE VIEW {db.table} AS SELECT 1 AS id, NOW() AS updated "
            "FROM (SELECT SLEEP(5) AS s) AS slow"
        )
        _sql_project(floe_project, db)
        monkeypatch.setattr(planning, "PREVIEW_TIMEOUT_SECONDS", 0.5)

        source = floe_project.plugin().engine.plan("items")
    finally:
        db.dispose()

    assert "max_statement_time exceeded" in source.source_error, source.source_error


@pytest.mark.parametrize("contract", ["freeze", "discard_value"])
def test_the_schema_contract_is_judged_on_type_changes_as_the_run_judges_it(
    floe_project: FloeProject, pg: SourceDb, contract: str
) -> None:
    t = pg.table
    pg.execute(
        f"CREATE TABLE {t} (id bigint PRIMARY KEY, qty smallint, amount numeric(10,2), "
        "name varchar(5), updated timestamp)",
        f"INSERT INTO {t} VALUES (1, 1, 1.25, 'a', '2024-01-01')",
    )
    _sql_project(floe_project, pg)
    text = floe_project.file.read_text().replace("{namespace: bronze}", "")
    floe_project.file.write_text(
        text.replace(
            "destination: ", f"destination: {{namespace: bronze, schema_contract: {contract}}}"
        )
    )
    floe_project.run()
    pg.execute(
        f"ALTER TABLE {t} ALTER COLUMN qty TYPE bigint, ALTER COLUMN amount TYPE numeric(14,2), "
        "ALTER COLUMN name TYPE varchar(9)",
        f"INSERT INTO {t} VALUES (2, 2, 2.25, 'b', '2024-02-01')",
    )

    plan = floe_project.plugin().engine.plan("items")

    rows = {r.column: (r.change, r.outcome) for r in plan.tables[0].diff}
    judged = (
        "contract violation (freeze)" if contract == "freeze" else "values dropped (discard_value)"
    )
    assert rows == {
        "qty": ("promote", "promoted"),  # dlt's column type is bigint either way
        "amount": ("promote", judged),
        "name": ("retype", judged),  # text(5) to text(9): the same Iceberg string
    }
    outcome = floe_project.plugin().load("items")
    if contract == "freeze":
        assert plan.refusals == (
            f"bronze.{t}: column amount changes type from decimal(10, 2) to decimal(14, 2), "
            "which schema_contract: freeze refuses",
            f"bronze.{t}: column name changes type from text(5) to text(9), which "
            "schema_contract: freeze refuses",
        )
        assert not outcome.ok
        assert "Can't evolve column type of `amount`" in str(outcome.error)
    else:
        assert plan.refusals == ()
        assert outcome.ok, outcome.error
        landed = {r["id"]: r for r in floe_project.read(f"bronze.{t}").to_pylist()}
        assert (landed[2]["qty"], landed[2]["amount"], landed[2]["name"]) == (2, None, None)
        assert _columns(floe_project, t)["amount"] == "decimal(10, 2)"


def test_plan_on_a_new_postgresql_catalog_creates_no_catalog_table(tmp_path: Path) -> None:
    import contextlib

    import sqlalchemy as sa
    from floe_testing.fixtures.databases import engine_url, postgres_database

    with contextlib.contextmanager(postgres_database)() as catalog_db:
        orders_db(tmp_path, good_rows(range(1, 4)))
        url = engine_url(catalog_db.url)
        project = FloeProject(tmp_path, f"catalog: {{type: sql, uri: '{url}', warehouse: wh}}\n")
        write_project(project)

        result = floe("ingest", "plan", "--json", cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        [orders] = json.loads(result.stdout)["sources"][0]["tables"]
        assert (orders["exists"], orders["estimate"]["rows"]) == (False, 3)
        engine = sa.create_engine(url)
        try:
            assert sa.inspect(engine).get_table_names() == []
        finally:
            engine.dispose()
        assert not (tmp_path / ".floe").exists()
        assert not (tmp_path / "wh").exists()
