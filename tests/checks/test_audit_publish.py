"""``publish: audit``: a load is committed to a branch, checked there, and published only when
every error check passes; a failed audit leaves main and the incremental state where they were."""

from __future__ import annotations

from typing import Any

from floe_testing.duckdb_reader import read_iceberg
from floe_testing.fixtures.ingestion import FloeProject
from floe_testing.orders import floe, good_rows, orders_db, write_project


def _table(project: FloeProject) -> Any:
    from floe_dlt_destination_iceberg.catalog import open_catalog

    return open_catalog(project.plugin().engine.settings).load_table(("bronze", "orders"))


def _main_ids(project: FloeProject, table: Any) -> list[int]:
    by_pyiceberg = sorted(table.scan().to_arrow().column("id").to_pylist())
    if table.metadata_location.startswith(("file:", "/")):  # DuckDB reads local warehouses
        by_duckdb = read_iceberg(table.metadata_location, "SELECT id FROM t ORDER BY id")
        assert by_duckdb.column("id").to_pylist() == by_pyiceberg
    return by_pyiceberg


def _branches(table: Any) -> list[str]:
    return sorted(name for name in table.metadata.refs if name != "main")


def test_failed_audit_keeps_main_and_state_then_fixed_source_lands_once(
    floe_project_each_catalog: FloeProject,
) -> None:
    project = floe_project_each_catalog
    orders_db(project.root, good_rows(range(1, 6)))
    write_project(project, publish="audit")

    first = project.plugin().load("shop")
    assert first.ok, first.error
    table = _table(project)
    assert len(table.metadata.snapshots) == 1  # exactly one snapshot, now main's
    assert _branches(table) == []
    assert first.table("bronze.orders").snapshot_id == table.current_snapshot().snapshot_id
    assert [c.check for c in first.checks if c.passed][:2] == [
        "not_null(customer_id)",
        "unique(id)",
    ]
    published = table.current_snapshot().snapshot_id

    bad = [(6, None, "paid", 6.0, 6), (7, 107, "paid", 7.0, 7), (8, 108, "lost", 8.0, 8)]
    orders_db(project.root, good_rows(range(1, 6)) + bad)
    failed = project.plugin().load("shop")
    assert failed.status == "failed"
    assert failed.category == "audit"
    lines = str(failed.error).splitlines()
    assert (
        "2 error checks failed; main is unchanged; the load is kept on branch 'audit-" in lines[0]
    )
    assert lines[1:] == [
        "  bronze.orders: not_null(customer_id) [error] failed, 1 failing rows; e.g. id=6",
        "  bronze.orders: accepted_values(status) [error] failed, 1 failing rows; e.g. id=8",
    ]
    table = _table(project)
    assert table.current_snapshot().snapshot_id == published
    assert _main_ids(project, table) == [1, 2, 3, 4, 5]
    [branch] = _branches(table)
    on_branch = table.scan(snapshot_id=table.snapshot_by_name(branch).snapshot_id).to_arrow()
    assert sorted(on_branch.column("id").to_pylist()) == [1, 2, 3, 4, 5, 6, 7, 8]

    fixed = [(6, 106, "paid", 6.0, 6), (7, 107, "paid", 7.0, 7), (8, 108, "shipped", 8.0, 8)]
    orders_db(project.root, good_rows(range(1, 6)) + fixed)
    again = project.plugin().load("shop")
    assert again.ok, again.error
    assert again.rows_loaded == 3  # the cursor did not move past the rejected rows
    table = _table(project)
    assert _main_ids(project, table) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert _branches(table) == [branch]  # the failed load's branch stays for inspection
    main_snapshots = [s for s in table.snapshots() if s.snapshot_id in _main_history(table)]
    assert len(main_snapshots) == 2  # one per published load


def _main_history(table: Any) -> set[int]:
    from pyiceberg.table.snapshots import ancestors_of

    return {s.snapshot_id for s in ancestors_of(table.current_snapshot(), table.metadata)}


def test_warn_checks_never_block_publishing(floe_project: FloeProject) -> None:
    orders_db(floe_project.root, [*good_rows(range(1, 4)), (4, 104, None, 4.0, 4)])
    write_project(floe_project, publish="audit")
    result = floe("ingest", "run", cwd=floe_project.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bronze.orders: not_null(status) [warn] failed, 1 failing rows; e.g. id=4" in (
        result.stdout
    )
    assert _main_ids(floe_project, _table(floe_project)) == [1, 2, 3, 4]


def test_a_kept_branch_is_published_by_hand(floe_project: FloeProject) -> None:
    orders_db(floe_project.root, [*good_rows(range(1, 3)), (3, 103, "lost", 3.0, 3)])
    write_project(floe_project, publish="audit")
    result = floe("ingest", "run", cwd=floe_project.root)
    assert result.returncode == 1
    assert "[audit]" in result.stdout
    assert "accepted_values(status) [error] failed, 1 failing rows; e.g. id=3" in result.stdout
    [branch] = _branches(_table(floe_project))
    assert _table(floe_project).current_snapshot() is None  # nothing published yet

    published = floe(
        "tables", "publish", "bronze.orders", "--branch", branch, cwd=floe_project.root
    )
    assert published.returncode == 0, published.stderr
    table = _table(floe_project)
    assert _main_ids(floe_project, table) == [1, 2, 3]
    assert _branches(table) == []
    missing = floe("tables", "publish", "bronze.orders", "--branch", branch, cwd=floe_project.root)
    assert missing.returncode == 1
    assert f"has no branch {branch!r}" in missing.stderr


def test_row_count_judges_a_table_an_audited_load_brought_no_rows(
    floe_project: FloeProject,
) -> None:
    orders_db(floe_project.root, good_rows(range(1, 4)))
    write_project(floe_project, publish="audit")
    assert floe_project.run().ok
    published = _table(floe_project).current_snapshot().snapshot_id
    quiet = floe_project.plugin().load("shop")  # the cursor finds nothing new

    assert quiet.status == "failed"
    assert quiet.category == "audit"
    assert [c.line() for c in quiet.checks if c.check.startswith("row_count")] == [
        "bronze.orders: row_count(min=1, max=1000) [error] failed (the load brought 0 rows)"
    ]
    assert "1 error check failed" in str(quiet.error).splitlines()[0]
    assert _table(floe_project).current_snapshot().snapshot_id == published


def test_row_count_passes_on_no_rows_when_zero_is_allowed(floe_project: FloeProject) -> None:
    orders_db(floe_project.root, good_rows(range(1, 4)))
    write_project(floe_project, publish="audit")
    config = floe_project.root / "floe.yaml"
    config.write_text(config.read_text().replace("{min: 1, max: 1000}", "{min: 0, max: 1000}"))
    assert floe_project.run().ok
    quiet = floe_project.plugin().load("shop")

    assert quiet.ok, quiet.error
    assert [c.line() for c in quiet.checks if c.check.startswith("row_count")] == [
        "bronze.orders: row_count(min=0, max=1000) [error] passed (the load brought 0 rows)"
    ]
