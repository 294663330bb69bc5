"""Running the assets in process: rows land in Iceberg, subsets, failures, retries, schedules."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DefaultScheduleStatus,
    Definitions,
    ExecuteInProcessResult,
    materialize,
)
from floe_core import compile_spec
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
from floe_testing.fixtures.ingestion import FloeProject
from pytest_httpserver import HTTPServer

CUSTOMERS = AssetKey(["ingestion", "shop", "customers"])
ORDERS = AssetKey(["ingestion", "shop", "orders"])


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as instance:
        yield instance


def _definitions(project: FloeProject) -> Definitions:
    return DagsterOrchestratorPlugin().create_definitions(compile_spec(project.file))


def _materialize(
    defs: Definitions, instance: DagsterInstance, selection: list[AssetKey] | None = None
) -> ExecuteInProcessResult:
    return materialize(
        list(defs.assets or []),  # type: ignore[arg-type]
        resources=defs.resources,
        instance=instance,
        selection=selection,
    )


def _metadata(result: ExecuteInProcessResult) -> dict[AssetKey, dict[str, Any]]:
    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        found[materialization.asset_key] = {k: v.value for k, v in materialization.metadata.items()}
    return found


def _events(result: ExecuteInProcessResult, kind: DagsterEventType) -> list[DagsterEvent]:
    return [event for event in result.all_events if event.event_type is kind]


def test_quickstart_lands_rows_in_iceberg(
    quickstart: FloeProject, instance: DagsterInstance
) -> None:
    defs = _definitions(quickstart)

    result = _materialize(defs, instance)

    assert result.success
    assert quickstart.read("bronze.customers").num_rows == 500
    assert quickstart.read("bronze.orders").num_rows == 5000
    metadata = _metadata(result)
    assert set(metadata) == {CUSTOMERS, ORDERS}
    customers = metadata[CUSTOMERS]
    assert customers["rows_loaded"] == 500
    assert metadata[ORDERS]["rows_loaded"] == 5000
    assert customers["source_type"] == "sql_database"
    assert customers["destination_table"] == "bronze.customers"
    assert customers["write_mode"] == "merge"
    assert isinstance(customers["duration_seconds"], float)
    assert customers["duration_seconds"] > 0
    history = quickstart.plugin().table_history("bronze.customers")
    assert customers["iceberg_snapshot_id"] == history[-1]["snapshot_id"]


def test_a_run_that_loads_nothing_reports_zero_rows(
    quickstart: FloeProject, instance: DagsterInstance
) -> None:
    defs = _definitions(quickstart)
    assert _materialize(defs, instance).success
    snapshots = quickstart.snapshots("bronze.customers")

    again = _materialize(_definitions(quickstart), instance)

    assert again.success
    metadata = _metadata(again)
    assert metadata[CUSTOMERS]["rows_loaded"] == 0
    assert metadata[ORDERS]["rows_loaded"] == 0
    assert "iceberg_snapshot_id" not in metadata[CUSTOMERS]
    assert quickstart.snapshots("bronze.customers") == snapshots
    assert quickstart.read("bronze.customers").num_rows == 500


def test_selecting_one_asset_runs_only_its_resource(
    quickstart: FloeProject, instance: DagsterInstance
) -> None:
    defs = _definitions(quickstart)

    result = _materialize(defs, instance, selection=[CUSTOMERS])

    assert result.success
    metadata = _metadata(result)
    assert set(metadata) == {CUSTOMERS}
    assert quickstart.plugin().list_tables() == ["bronze.customers"]
    committed = quickstart.plugin().table_history("bronze.customers")[-1]
    assert metadata[CUSTOMERS]["rows_loaded"] == committed["added_records"] == 500
    assert metadata[CUSTOMERS]["iceberg_snapshot_id"] == committed["snapshot_id"]


def _launch(
    defs: Definitions, instance: DagsterInstance, launch: str, source: str
) -> ExecuteInProcessResult:
    """Run a source through its job, or its assets through Dagster's implicit asset job."""
    if launch == "job":
        job = defs.resolve_job_def(f"ingest_{source}")
        return job.execute_in_process(instance=instance, raise_on_error=False)
    return materialize(
        list(defs.assets or []),  # type: ignore[arg-type]
        resources=defs.resources,
        instance=instance,
        selection=AssetSelection.groups(source),
        raise_on_error=False,
    )


def _failing_project(project: FloeProject) -> None:
    """Source ``files`` reads a malformed CSV; source ``db`` reads a SQLite database."""
    (project.root / "data").mkdir()
    (project.root / "data" / "bad.csv").write_bytes(b"id,name\n1,a\n2,b,extra\n")
    with sqlite3.connect(project.root / "source.db") as db:
        db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO items VALUES (1, 'a')")
    url = f"sqlite:///{project.root / 'source.db'}?timeout=0.2"
    project.write(
        f"""
        retry: {{max_retries: 2, initial_delay_seconds: 0.05}}
        ingestion:
          sources:
            - name: files
              type: filesystem
              config: {{bucket_url: data, file_glob: "*.csv"}}
              destination: {{namespace: bronze}}
            - name: db
              type: sql_database
              config: {{credentials: "{url}", tables: [items]}}
              destination: {{namespace: bronze}}
        """
    )


@pytest.mark.parametrize("launch", ["job", "assets"])
def test_a_permanent_failure_fails_the_run_at_once_with_its_category(
    floe_project: FloeProject, instance: DagsterInstance, launch: str
) -> None:
    _failing_project(floe_project)
    defs = _definitions(floe_project)

    result = _launch(defs, instance, launch, "files")

    assert not result.success
    assert _events(result, DagsterEventType.STEP_UP_FOR_RETRY) == []
    [failure] = _events(result, DagsterEventType.STEP_FAILURE)
    data = failure.step_failure_data
    assert data.user_failure_data is not None
    assert data.user_failure_data.metadata["error_category"].value == "permanent"
    assert data.user_failure_data.metadata["error_type"].value == "SourceDataError"
    assert data.error is not None
    assert "[permanent] source 'files' (filesystem)" in data.error.message
    assert "bad.csv, line 3: expected 2 columns, got 3" in data.error.message
    stored = instance.all_logs(result.run_id, of_type=DagsterEventType.STEP_FAILURE)
    assert "[permanent]" in str(stored[0].dagster_event.step_failure_data.error.message)  # type: ignore[union-attr]


@pytest.mark.parametrize("launch", ["job", "assets"])
def test_a_transient_failure_is_retried_by_the_engine_per_the_retry_config(
    floe_project: FloeProject, instance: DagsterInstance, launch: str
) -> None:
    """The engine retries as for ``floe ingest run``; Dagster does not retry on top of it."""
    _failing_project(floe_project)
    defs = _definitions(floe_project)

    def run() -> ExecuteInProcessResult:
        return _launch(defs, instance, launch, "db")

    lock = sqlite3.connect(floe_project.root / "source.db", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # readers fail with "database is locked": transient
    try:
        result = run()
    finally:
        lock.close()

    assert not result.success
    assert _events(result, DagsterEventType.STEP_UP_FOR_RETRY) == []
    [failure] = _events(result, DagsterEventType.STEP_FAILURE)
    metadata = failure.step_failure_data.user_failure_data.metadata  # type: ignore[union-attr]
    assert metadata["error_category"].value == "transient"
    assert metadata["retryable"].value is False  # the engine's two retries are spent
    assert metadata["attempts"].value == 3

    assert run().success
    assert floe_project.read("bronze.items").num_rows == 1


def test_jobs_and_schedules_follow_floe_yaml(floe_project: FloeProject) -> None:
    floe_project.write(
        """
        retry: {max_retries: 5, initial_delay_seconds: 2.5}
        ingestion:
          sources:
            - name: hourly
              type: filesystem
              schedule: "0 * * * *"
              config: {bucket_url: data, file_glob: "*.csv"}
              destination: {namespace: bronze}
            - name: manual
              type: filesystem
              config: {bucket_url: data, file_glob: "*.jsonl"}
              destination: {namespace: bronze}
        """
    )
    (floe_project.root / "data").mkdir()

    defs = _definitions(floe_project)

    assert len(list(defs.schedules or [])) == 1
    schedule = defs.resolve_schedule_def("ingest_hourly_schedule")
    assert schedule.cron_schedule == "0 * * * *"
    assert schedule.job_name == "ingest_hourly"
    assert schedule.default_status is DefaultScheduleStatus.RUNNING
    for source in ("hourly", "manual"):
        job = defs.resolve_job_def(f"ingest_{source}")
        assert job.op_retry_policy is None  # the engine retries; Dagster must not multiply it
        assert {key.path[1] for key in job.asset_layer.executable_asset_keys} == {source}


def test_failures_never_carry_a_secret_into_the_event_log(
    floe_project: FloeProject, instance: DagsterInstance, httpserver: HTTPServer
) -> None:
    token = "tok-5ecret-value-42"  # sent in the URL, which HTTP errors quote
    httpserver.expect_request("/items").respond_with_json({"error": "bad token"}, status=401)
    floe_project.write(
        f"""
        ingestion:
          sources:
            - name: api
              type: rest_api
              config:
                client:
                  base_url: "{httpserver.url_for("/")}"
                  auth: {{type: api_key, location: query, name: key, api_key: {token}}}
                resources: [items]
              destination: {{namespace: bronze}}
        """
    )
    job = _definitions(floe_project).resolve_job_def("ingest_api")

    result = job.execute_in_process(instance=instance, raise_on_error=False)

    assert not result.success
    [failure] = _events(result, DagsterEventType.STEP_FAILURE)
    metadata = failure.step_failure_data.user_failure_data.metadata  # type: ignore[union-attr]
    assert metadata["error_category"].value == "permanent"
    assert "HTTPError: 401" in str(failure.step_failure_data.error)
    logged = instance.all_logs(result.run_id)
    assert logged
    assert all(token not in repr(record) for record in logged)
