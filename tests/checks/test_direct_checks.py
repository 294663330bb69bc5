"""``publish: direct``: checks run after the commit; error checks fail the run, rows stay."""

from __future__ import annotations

from floe_testing.fixtures.ingestion import FloeProject
from floe_testing.orders import floe, good_rows, orders_db, write_project


def test_passing_checks_are_reported_with_the_load(floe_project: FloeProject) -> None:
    orders_db(floe_project.root, good_rows(range(1, 11)))
    write_project(floe_project)
    outcome = floe_project.plugin().load("shop")
    assert outcome.ok, outcome.error
    assert outcome.rows_loaded == 10
    assert [c.check for c in outcome.checks] == [
        "not_null(customer_id)",
        "unique(id)",
        "accepted_values(status)",
        "expression(amount >= 0)",
        "row_count(min=1, max=1000)",
        "not_null(status)",
    ]
    assert all(c.passed for c in outcome.checks)


def test_failed_error_checks_fail_the_run_and_the_rows_stay(floe_project: FloeProject) -> None:
    rows = good_rows(range(1, 9))
    rows += [(9, None, "lost", -5.0, 9), (10, None, None, 3.0, 10)]
    orders_db(floe_project.root, rows)
    write_project(floe_project)

    outcome = floe_project.plugin().load("shop")

    assert outcome.status == "failed"
    assert outcome.category == "audit"
    assert floe_project.read("bronze.orders").num_rows == 10  # published anyway
    failed = {c.check: c for c in outcome.checks if not c.passed}
    assert set(failed) == {
        "not_null(customer_id)",
        "accepted_values(status)",
        "expression(amount >= 0)",
        "not_null(status)",
    }
    assert failed["not_null(customer_id)"].failing_rows == 2
    assert failed["not_null(customer_id)"].examples == ("id=9", "id=10")
    assert failed["accepted_values(status)"].examples == ("id=9",)
    assert failed["not_null(status)"].severity == "warn"
    lines = str(outcome.error).splitlines()
    assert "3 error checks failed; the rows stay published" in lines[0]
    assert lines[1:] == [
        "  bronze.orders: not_null(customer_id) [error] failed, 2 failing rows; e.g. id=9, id=10",
        "  bronze.orders: accepted_values(status) [error] failed, 1 failing rows; e.g. id=9",
        "  bronze.orders: expression(amount >= 0) [error] failed, 1 failing rows; e.g. id=9",
    ]


def test_warn_checks_never_fail_a_run(floe_project: FloeProject) -> None:
    orders_db(floe_project.root, [*good_rows(range(1, 5)), (5, 1, None, 1.0, 5)])
    write_project(floe_project)
    result = floe("ingest", "run", cwd=floe_project.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bronze.orders: not_null(status) [warn] failed, 1 failing rows; e.g. id=5" in (
        result.stdout
    )


def test_tables_audit_runs_the_checks_on_main_now(floe_project: FloeProject) -> None:
    orders_db(floe_project.root, good_rows(range(1, 6)))
    write_project(floe_project)
    assert floe_project.run().ok
    passed = floe("tables", "audit", "bronze.orders", cwd=floe_project.root)
    assert passed.returncode == 0, passed.stderr
    assert "bronze.orders: unique(id) [error] passed" in passed.stdout
    assert "bronze.orders: row_count(min=1, max=1000) [error] passed (the load brought 5 rows)" in (
        passed.stdout
    )

    # a second source appends the same ids: the whole table is no longer unique
    orders_db(floe_project.root, good_rows(range(1, 6)))
    floe_project.plugin().load("shop")  # cursor: nothing new
    (floe_project.root / "more.db").write_bytes((floe_project.root / "shop.db").read_bytes())
    write_project(floe_project)
    text = (
        floe_project.file.read_text()
        .replace("shop.db", "more.db")
        .replace("name: shop", "name: more")
    )
    floe_project.file.write_text(floe_project.file.read_text() + text.split("sources:", 1)[1])
    floe_project.plugin().load("more")
    failed = floe("tables", "audit", "bronze.orders", cwd=floe_project.root)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "bronze.orders: unique(id) [error] failed, 10 failing rows" in failed.stdout


def test_row_count_fails_a_load_that_brings_a_table_no_rows(floe_project: FloeProject) -> None:
    orders_db(floe_project.root, good_rows(range(1, 4)))
    write_project(floe_project)
    assert floe_project.run().ok
    quiet = floe_project.plugin().load("shop")  # the cursor finds nothing new

    assert quiet.category == "audit"
    assert [c.line() for c in quiet.checks] == [
        "bronze.orders: row_count(min=1, max=1000) [error] failed (the load brought 0 rows)"
    ]
