"""The maintenance job of a source: separate from its assets, on its maintenance schedule."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance, DefaultScheduleStatus, Definitions, materialize
from floe_core import compile_spec
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
from floe_testing.fixtures.ingestion import FloeProject

EVENTS = AssetKey(["ingestion", "events", "events"])
POLICY = """\
maintenance:
  compact: {min_input_files: 2}
  expire_snapshots: {older_than: 0s, retain_last: 1}
  schedule: "0 3 * * *"
"""


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as instance:
        yield instance


def _definitions(project: FloeProject) -> Definitions:
    return DagsterOrchestratorPlugin().create_definitions(compile_spec(project.file))


def _with_policy(project: FloeProject) -> None:
    project.file.write_text(project.file.read_text(encoding="utf-8") + POLICY, encoding="utf-8")


def test_each_source_gets_a_maintenance_job_on_its_maintenance_schedule(
    floe_project: FloeProject,
) -> None:
    floe_project.sqlite_events(10)
    _with_policy(floe_project)

    defs = _definitions(floe_project)

    job = defs.resolve_job_def("maintain_events")
    assert job.tags["floe/kind"] == "maintenance"
    assert not job.asset_layer.executable_asset_keys  # materializes no asset: never blocks them
    schedule = defs.resolve_schedule_def("maintain_events_schedule")
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "maintain_events"


def test_the_job_compacts_the_tables_and_records_their_health(
    floe_project: FloeProject, instance: DagsterInstance
) -> None:
    floe_project.sqlite_events(100, incremental=True)
    _with_policy(floe_project)
    defs = _definitions(floe_project)
    assets: Any = list(defs.assets or [])
    first = materialize(assets, resources=defs.resources, instance=instance)
    with sqlite3.connect(floe_project.root / "source.db") as db:
        db.executemany("INSERT INTO events VALUES (?, ?)", ((i, f"e{i}") for i in range(100, 150)))
    second = materialize(assets, resources=defs.resources, instance=instance)
    assert first.success
    assert second.success
    loaded = second.get_asset_materialization_events()[0].step_materialization_data
    assert loaded.materialization.metadata["floe/data_files"].value == 2

    result = defs.resolve_job_def("maintain_events").execute_in_process(instance=instance)

    assert result.success
    [observation] = [
        e.asset_observation_data.asset_observation
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    ]
    figures = {k: v.value for k, v in observation.metadata.items()}
    assert observation.asset_key == EVENTS
    assert (figures["floe/data_files"], figures["floe/records"]) == (1, 150)
    assert figures["floe/snapshots"] == 1
    assert figures["floe/last_maintenance"] != "never"
    rows = floe_project.read("bronze.events")
    assert sorted(rows["id"].to_pylist()) == list(range(150))
