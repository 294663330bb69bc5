"""Time-partitioned sources: a window run replaces exactly its window, reruns and backfills are
idempotent, windows committed in parallel lose and double nothing; the same through Dagster."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from floe_core.windows import window_at
from floe_testing.duckdb_reader import read_iceberg
from floe_testing.fixtures.ingestion import FloeProject

START = datetime(2024, 1, 1)
DAYS = 120


def _events(project: FloeProject, every: str = "month") -> Path:
    """``source.db``: one event every 6 hours from 2024-01-01 for 120 days, partitioned."""
    source = project.root / "source.db"
    with sqlite3.connect(source) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, at TIMESTAMP, name TEXT)")
        db.executemany(
            "INSERT INTO events VALUES (?, ?, ?)",
            (
                (i, (START + timedelta(hours=6 * i)).isoformat(sep=" "), f"e{i}")
                for i in range(DAYS * 4)
            ),
        )
    project.write(
        f"""
        ingestion:
          sources:
            - name: events
              type: sql_database
              config: {{credentials: 'sqlite:///source.db', tables: [events]}}
              destination: {{namespace: bronze}}
              partitions: {{column: at, start: 2024-01-01, every: {every}}}
        """
    )
    return source


def _source_ids(source: Path, start: str, end: str) -> list[int]:
    with sqlite3.connect(source) as db:
        rows = db.execute("SELECT id FROM events WHERE at >= ? AND at < ?", (start, end))
        return sorted(r[0] for r in rows)


def _table_ids(project: FloeProject) -> tuple[list[int], list[int]]:
    """The table's ids read by pyiceberg and by DuckDB."""
    plugin = project.plugin()
    table = plugin.read_table("bronze.events")
    from floe_dlt_destination_iceberg.catalog import open_catalog

    location = open_catalog(plugin.settings).load_table("bronze.events").metadata_location
    duck = read_iceberg(location, "SELECT id FROM t")
    return sorted(table["id"].to_pylist()), sorted(duck["id"].to_pylist())


def test_a_window_run_loads_and_then_replaces_exactly_its_window(
    floe_project: FloeProject,
) -> None:
    source = _events(floe_project)
    march = window_at("2024-03-01", "month")

    first = floe_project.run(window=march)
    assert first.rows_loaded == len(_source_ids(source, "2024-03-01", "2024-04-01")) == 124
    with sqlite3.connect(source) as db:  # the window changes upstream: one row goes, one comes
        db.execute("DELETE FROM events WHERE at = '2024-03-10 00:00:00'")
        db.execute("INSERT INTO events VALUES (100000, '2024-03-31 23:59:59', 'late')")
        db.execute("INSERT INTO events VALUES (100001, '2024-04-01 00:00:00', 'april')")
    floe_project.run(window=window_at("2024-01-01", "month"))
    again = floe_project.run(window=march)

    expected = sorted(
        _source_ids(source, "2024-01-01", "2024-02-01")
        + _source_ids(source, "2024-03-01", "2024-04-01")
    )
    assert again.rows_loaded == 124
    assert 100000 in expected
    assert 100001 not in expected
    pyiceberg_ids, duckdb_ids = _table_ids(floe_project)
    assert pyiceberg_ids == duckdb_ids == expected
    assert again.window == "2024-03-01"
    kept = [p for p in (floe_project.root / ".floe" / "pipelines").glob("*__w*") if p.is_dir()]
    assert kept == []  # a committed window's pipeline is not kept


def _floe(project: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    return subprocess.Popen(
        [sys.executable, "-m", "floe_cli", "ingest", "run", "--json", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_windows_committed_in_parallel_land_every_row_once(floe_project: FloeProject) -> None:
    source = _events(floe_project, every="week")
    weeks = ["2024-01-07", "2024-01-14", "2024-01-21", "2024-01-28"]
    floe_project.run(window=window_at("2023-12-31", "week"))  # the table exists before

    runs = [_floe(floe_project.root, "--partition", week) for week in weeks]
    results = [(run.communicate(timeout=600), run.returncode) for run in runs]

    for (stdout, stderr), code in results:
        assert code == 0, stderr
        assert json.loads(stdout)["sources"][0]["status"] == "success"
    pyiceberg_ids, duckdb_ids = _table_ids(floe_project)
    assert pyiceberg_ids == duckdb_ids == _source_ids(source, "2023-12-31", "2024-02-04")


def test_a_range_is_one_commit_per_window_and_a_rerun_changes_nothing(
    floe_project: FloeProject,
) -> None:
    source = _events(floe_project)
    run = _floe(floe_project.root, "--from", "2024-01-01", "--to", "2024-04-01")
    stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr
    summary = json.loads(stdout)
    assert [s["window"] for s in summary["sources"]] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    ids = _source_ids(source, "2024-01-01", "2024-04-01")
    assert sum(s["rows_loaded"] for s in summary["sources"]) == len(ids)
    history = floe_project.plugin().table_history("bronze.events")
    assert len({entry["load_id"] for entry in history}) == 3

    rerun = _floe(floe_project.root, "--from", "2024-01-01", "--to", "2024-04-01")
    _, stderr = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, stderr
    assert _table_ids(floe_project) == (ids, ids)


def test_a_window_for_a_source_without_partitions_is_refused(floe_project: FloeProject) -> None:
    floe_project.sqlite_events(3)
    run = _floe(floe_project.root, "--partition", "2024-03-01", "--source", "events")
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 2
    [line] = stderr.strip().splitlines()
    assert "loading a window needs sources with partitions: (events has none)" in line


@pytest.mark.parametrize("every", ["month"])
def test_a_dagster_partition_run_loads_its_window(floe_project: FloeProject, every: str) -> None:
    from dagster import AssetKey, DagsterInstance, materialize
    from floe_core import compile_spec
    from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

    source = _events(floe_project, every=every)
    defs = DagsterOrchestratorPlugin().create_definitions(compile_spec(floe_project.file))
    from dagster import AssetsDefinition

    [assets] = list(defs.assets or [])
    assert isinstance(assets, AssetsDefinition)
    assert assets.partitions_def is not None
    assert assets.partitions_def.get_partition_keys()[:2] == ["2024-01-01", "2024-02-01"]

    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [assets],
            resources=defs.resources,
            instance=instance,
            partition_key="2024-02-01",
        )

    assert result.success
    [event] = result.get_asset_materialization_events()
    materialization = event.step_materialization_data.materialization
    assert materialization.asset_key == AssetKey(["ingestion", "events", "events"])
    assert materialization.partition == "2024-02-01"
    february = _source_ids(source, "2024-02-01", "2024-03-01")
    assert materialization.metadata["rows_loaded"].value == len(february)
    assert materialization.metadata["commit_conflicts"].value == 0
    assert _table_ids(floe_project) == (february, february)


def test_a_rest_window_is_read_with_the_configured_start_and_end_params(
    floe_project: FloeProject, httpserver: Any
) -> None:
    from werkzeug import Request, Response

    events: list[dict[str, Any]] = [
        {"id": i, "at": (START + timedelta(hours=6 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for i in range(DAYS * 4)
    ]
    asked: list[tuple[str, str]] = []

    def answer(request: Request) -> Response:
        since, until = request.args["since"], request.args["until"]
        asked.append((since, until))
        items = [e for e in events if since <= e["at"] < until]
        return Response(json.dumps({"items": items}), content_type="application/json")

    httpserver.expect_request("/events").respond_with_handler(answer)
    floe_project.write(
        f"""
        ingestion:
          sources:
            - name: api
              type: rest_api
              config:
                client: {{base_url: "{httpserver.url_for("/")}"}}
                resources:
                  - name: events
                    endpoint:
                      path: events
                      data_selector: items
                      paginator: single_page
                      incremental:
                        start_param: since
                        end_param: until
                        cursor_path: at
                        initial_value: "2024-01-01T00:00:00Z"
              destination: {{namespace: bronze}}
              partitions: {{column: at, start: 2024-01-01, every: month}}
        """
    )
    february = sorted(e["id"] for e in events if "2024-02-01" <= e["at"] < "2024-03-01")

    floe_project.run(window=window_at("2024-02-01", "month"))
    floe_project.run(window=window_at("2024-03-01", "month"))
    again = floe_project.run(window=window_at("2024-02-01", "month"))

    assert asked[0] == ("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")
    assert again.rows_loaded == len(february)
    march = sorted(e["id"] for e in events if "2024-03-01" <= e["at"] < "2024-04-01")
    pyiceberg_ids, duckdb_ids = _table_ids(floe_project)
    assert pyiceberg_ids == duckdb_ids == sorted(february + march)


def test_a_window_that_lost_its_rows_is_emptied(floe_project: FloeProject) -> None:
    source = _events(floe_project)
    floe_project.run(window=window_at("2024-01-01", "month"))
    floe_project.run(window=window_at("2024-02-01", "month"))
    with sqlite3.connect(source) as db:  # every January row moves to February upstream
        db.execute("UPDATE events SET at = datetime(at, '+31 days') WHERE at < '2024-02-01'")

    emptied = floe_project.run(window=window_at("2024-01-01", "month"))
    floe_project.run(window=window_at("2024-02-01", "month"))

    assert emptied.rows_loaded == 0
    expected = _source_ids(source, "2024-01-01", "2024-03-01")
    assert _table_ids(floe_project) == (expected, expected)


def test_a_partitioned_source_is_not_loaded_without_a_window(floe_project: FloeProject) -> None:
    from floe_ingestion_dlt.errors import PipelineConfigurationError

    _events(floe_project)
    with pytest.raises(PipelineConfigurationError, match="is partitioned: load it by window"):
        floe_project.run()


def test_a_partitioned_sources_schedule_asks_for_the_window_that_ended(
    floe_project: FloeProject,
) -> None:
    from dagster import build_schedule_context
    from floe_core import compile_spec
    from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

    _events(floe_project)
    floe_project.file.write_text(
        floe_project.file.read_text().replace(
            "type: sql_database", "type: sql_database\n      schedule: '0 1 1 * *'"
        )
    )
    defs = DagsterOrchestratorPlugin().create_definitions(compile_spec(floe_project.file))
    schedule = defs.resolve_schedule_def("ingest_events_schedule")

    tick = schedule.evaluate_tick(
        build_schedule_context(scheduled_execution_time=datetime(2024, 3, 1, 1))
    )

    [request] = tick.run_requests or []
    assert request.partition_key == "2024-02-01"


def test_a_dagster_partition_run_of_a_filesystem_source_reads_its_windows_files(
    floe_project: FloeProject,
) -> None:
    from dagster import AssetsDefinition, DagsterInstance, materialize
    from floe_core import compile_spec
    from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

    for day in (1, 2):
        folder = floe_project.root / "landing" / f"2024-03-0{day}"
        folder.mkdir(parents=True)
        lines = [
            json.dumps({"id": day * 100 + i, "at": f"2024-03-0{day}T{i:02d}:00:00Z"})
            for i in range(5 + day)
        ]
        (folder / "events.jsonl").write_text("\n".join(lines) + "\n")
    floe_project.write(
        """
        ingestion:
          sources:
            - name: files
              type: filesystem
              config: {bucket_url: landing, path_template: "{date:%Y-%m-%d}/events.jsonl"}
              destination: {table: bronze.events}
              partitions: {column: at, start: 2024-03-01, every: day}
        """
    )
    defs = DagsterOrchestratorPlugin().create_definitions(compile_spec(floe_project.file))
    [assets] = list(defs.assets or [])
    assert isinstance(assets, AssetsDefinition)

    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [assets], resources=defs.resources, instance=instance, partition_key="2024-03-02"
        )

    assert result.success
    [event] = result.get_asset_materialization_events()
    assert event.step_materialization_data.materialization.metadata["rows_loaded"].value == 7
    assert sorted(floe_project.read("bronze.events")["id"].to_pylist()) == list(range(200, 207))
