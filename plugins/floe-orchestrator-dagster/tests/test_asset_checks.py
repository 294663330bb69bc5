"""floe.yaml checks as Dagster asset checks: same results as the engine's, error ones blocking."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance, Definitions, materialize
from floe_core import compile_spec
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
from floe_testing.fixtures.ingestion import FloeProject
from floe_testing.orders import good_rows, orders_db, write_project

ORDERS = AssetKey(["ingestion", "shop", "orders"])


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as instance:
        yield instance


def _run(project: FloeProject, instance: DagsterInstance) -> Any:
    defs: Definitions = DagsterOrchestratorPlugin().create_definitions(compile_spec(project.file))
    return materialize(
        list(defs.assets or []),  # type: ignore[arg-type]
        resources=defs.resources,
        instance=instance,
        raise_on_error=False,
    )


def _evaluations(result: Any) -> dict[str, tuple[bool, int, bool]]:
    """check name -> (passed, failing rows, blocking)."""
    return {
        e.check_name: (e.passed, e.metadata["failing_rows"].value, e.blocking)
        for e in result.get_asset_check_evaluations()
    }


def test_checks_are_asset_checks_on_their_table(floe_project: FloeProject) -> None:
    orders_db(floe_project.root, good_rows(range(1, 4)))
    write_project(floe_project)
    defs = DagsterOrchestratorPlugin().create_definitions(compile_spec(floe_project.file))
    [assets] = list(defs.assets or [])
    specs = {spec.name: spec for spec in assets.check_specs}  # type: ignore[union-attr]
    assert sorted(specs) == [
        "accepted_values_status",
        "expression",
        "not_null_customer_id",
        "not_null_status",
        "row_count",
        "unique_id",
    ]
    assert all(spec.asset_key == ORDERS for spec in specs.values())
    assert specs["not_null_customer_id"].blocking
    assert not specs["not_null_status"].blocking  # severity: warn


def test_asset_checks_pass_and_fail_with_the_engines_counts(
    floe_project: FloeProject, instance: DagsterInstance
) -> None:
    rows = [*good_rows(range(1, 6)), (6, None, "lost", -1.0, 6), (7, None, None, 2.0, 7)]
    orders_db(floe_project.root, rows)
    write_project(floe_project)

    result = _run(floe_project, instance)

    assert not result.success  # error checks failed: the step fails, as the CLI exits 1
    assert result.get_asset_materialization_events()  # publish: direct, the rows landed
    evaluations = _evaluations(result)
    assert evaluations == {
        "not_null_customer_id": (False, 2, True),
        "unique_id": (True, 0, True),
        "accepted_values_status": (False, 1, True),
        "expression": (False, 1, True),
        "row_count": (True, 0, True),
        "not_null_status": (False, 1, False),
    }
    by_engine = floe_project.plugin().engine.audit("bronze.orders")
    assert [(r.passed, r.failing_rows) for r in by_engine] == [
        evaluations[name][:2]
        for name in (
            "not_null_customer_id",
            "unique_id",
            "accepted_values_status",
            "expression",
            "row_count",
            "not_null_status",
        )
    ]


def test_failed_audit_materializes_nothing_and_reports_the_checks(
    floe_project: FloeProject, instance: DagsterInstance
) -> None:
    orders_db(floe_project.root, [*good_rows(range(1, 3)), (3, 103, "lost", 3.0, 3)])
    write_project(floe_project, publish="audit")

    result = _run(floe_project, instance)

    assert not result.success
    assert result.get_asset_materialization_events() == []  # main was not moved
    assert _evaluations(result)["accepted_values_status"] == (False, 1, True)
    assert _evaluations(result)["unique_id"] == (True, 0, True)
