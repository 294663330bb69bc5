"""A Dagster backfill at scale: daily partitions of a PostgreSQL table, each its own Dagster run
with the multiprocess executor, four runs at once, committing to one Iceberg table on a REST
catalog (SeaweedFS) and on a SQL catalog on PostgreSQL.

Every row lands once with one snapshot per partition run; rerunning two partitions after their
source rows changed replaces exactly those windows; a partition run killed (SIGKILL, its whole
process group, as when a run worker's pod dies) while its load runs and then rerun lands its
window once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from floe_testing.fixtures.databases import Database, SourceDb
from floe_testing.fixtures.ingestion import FloeProject

START = datetime(2024, 1, 1)
DAYS = 8
PER_DAY = 2_000
AT_ONCE = 4
pytestmark = pytest.mark.slow
#: CI runs each test on one catalog (most of a partition run is Dagster, dlt and the code location
#: starting, twice); ``make reliability`` (FLOE_RELIABILITY=1) runs both on both.
_BOTH = os.environ.get("FLOE_RELIABILITY") == "1"


def _catalogs(in_ci: str) -> pytest.MarkDecorator:
    chosen = ["postgresql", "rest"] if _BOTH else [in_ci]
    return pytest.mark.parametrize("floe_project_each_catalog", chosen, indirect=True)


@pytest.fixture
def events(postgres_db: Database) -> Iterator[SourceDb]:
    """A PostgreSQL table of ``PER_DAY`` events a day, evenly spread, from ``START`` for
    ``DAYS`` days and one more (a day no run asks for)."""
    source = SourceDb(postgres_db)
    source.execute(
        f"CREATE TABLE {source.table} (id bigint PRIMARY KEY, at timestamp NOT NULL, name text)",
        f"INSERT INTO {source.table} SELECT i, timestamp '{START:%Y-%m-%d}' "
        f"+ i * interval '1 day' / {PER_DAY}, 'e' || i "
        f"FROM generate_series(0, {(DAYS + 1) * PER_DAY - 1}) AS i",
    )
    yield source
    source.execute(f"DROP TABLE {source.table}")
    source.dispose()


def _project(project: FloeProject, events: SourceDb) -> FloeProject:
    """floe.yaml of one source partitioned by day, and the Dagster instance its runs share
    (its storage created first: runs starting together would each try to create it)."""
    from dagster import DagsterInstance

    home = project.root / ".dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    DagsterInstance.from_config(str(home)).dispose()
    return project.write(
        f"""
        ingestion:
          sources:
            - name: events
              type: sql_database
              config: {{credentials: '{events.url}', tables: [{events.table}]}}
              destination: {{namespace: bronze}}
              partitions: {{column: at, start: {START:%Y-%m-%d}, every: day}}
        """
    )


def _day(index: int) -> str:
    return f"{START + timedelta(days=index):%Y-%m-%d}"


class _Run:
    """One partition run: ``floe_testing.dagster_run`` with the multiprocess executor, in a
    process group of its own (so a kill takes its step process too)."""

    def __init__(self, project: FloeProject, key: str) -> None:
        self.key = key
        self.out = project.root / f"run-{key}-{time.monotonic_ns()}.json"
        env = {
            **os.environ,
            "FLOE_CONFIG": str(project.file),
            "DAGSTER_HOME": str(project.root / ".dagster"),
        }
        command = ["floe_testing.dagster_run", "events", "--partition", key, "--multiprocess"]
        with self.out.open("wb") as out, self.out.with_suffix(".log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", *command],
                cwd=project.root,
                env=env,
                stdout=out,
                stderr=log,
                start_new_session=True,
            )

    def summary(self, timeout: float = 300) -> dict[str, Any]:
        code = self.process.wait(timeout=timeout)
        log = self.out.with_suffix(".log").read_text(errors="replace")
        assert code == 0, f"partition {self.key}: exit {code}\n{log[-3000:]}"
        lines = self.out.read_text().strip().splitlines()
        summary: dict[str, Any] = json.loads(lines[-1])
        return summary

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _backfill(project: FloeProject, keys: list[str]) -> list[dict[str, Any]]:
    """Run the partitions ``AT_ONCE`` at a time, as a run queue limited to that many would."""
    waiting = list(keys)
    running: list[_Run] = []
    done: list[dict[str, Any]] = []
    while waiting or running:
        while waiting and len(running) < AT_ONCE:
            running.append(_Run(project, waiting.pop(0)))
        finished = [run for run in running if run.process.poll() is not None]
        for run in finished:
            running.remove(run)
            done.append(run.summary())
        time.sleep(0.1)
    return sorted(done, key=lambda summary: summary["partition"])


def _most_at_once(project: FloeProject) -> int:
    """The most Dagster runs of the instance that were executing at one moment."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(project.root / ".dagster")) as instance:
        records = instance.get_run_records()
        spans = [(r.start_time, r.end_time) for r in records if r.start_time and r.end_time]
    moments = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = current = 0
    for _, change in moments:
        current += change
        most = max(most, current)
    return most


def _source(events: SourceDb, days: range) -> dict[int, tuple[str, str]]:
    """``id -> (day, name)`` of the source rows in ``days``."""
    import sqlalchemy as sa

    low, high = _day(days.start), _day(days.stop)
    with events.engine.connect() as connection:
        rows = connection.execute(
            sa.text(f"SELECT id, at, name FROM {events.table} WHERE at >= :low AND at < :high"),
            {"low": low, "high": high},
        )
        return {row.id: (f"{row.at:%Y-%m-%d}", row.name) for row in rows}


def _table(project: FloeProject, events: SourceDb) -> tuple[dict[int, tuple[str, str]], int]:
    """``id -> (day, name)`` of the Iceberg table, and how many rows it holds."""
    data = project.read(f"bronze.{events.table}")
    ids, ats, names = (data[name].to_pylist() for name in ("id", "at", "name"))
    rows = {i: (f"{at:%Y-%m-%d}", name) for i, at, name in zip(ids, ats, names, strict=True)}
    return rows, data.num_rows


def _loads_by_window(project: FloeProject, events: SourceDb) -> Counter[str]:
    """How many loads (distinct load ids) committed to the table per window pipeline."""
    history = project.plugin().table_history(f"bronze.{events.table}")
    loads = {(entry["pipeline"], entry["load_id"]) for entry in history}
    return Counter(pipeline.rsplit("__w", 1)[-1] for pipeline, _ in loads)


@_catalogs("rest")
def test_a_backfill_of_daily_partitions_lands_every_row_once_and_reruns_replace_their_windows(
    floe_project_each_catalog: FloeProject, events: SourceDb
) -> None:
    project = _project(floe_project_each_catalog, events)
    days = [_day(i) for i in range(DAYS)]

    runs = _backfill(project, days)

    assert [run["partition"] for run in runs] == days
    assert [run["rows_loaded"] for run in runs] == [{f"bronze.{events.table}": PER_DAY}] * DAYS
    assert all(isinstance(n, int) for run in runs for n in run["commit_conflicts"].values())
    assert [len(run["commit_conflicts"]) for run in runs] == [1] * DAYS
    assert _most_at_once(project) >= AT_ONCE
    expected = _source(events, range(DAYS))
    rows, count = _table(project, events)
    assert count == len(expected) == DAYS * PER_DAY
    assert rows == expected
    history = project.plugin().table_history(f"bronze.{events.table}")
    assert len(history) == DAYS  # one snapshot per partition run
    assert _loads_by_window(project, events) == Counter({d.replace("-", ""): 1 for d in days})

    # two windows change upstream: rows go, rows change, rows come; a row moves out of one
    changed = [_day(2), _day(5)]
    events.execute(
        f"DELETE FROM {events.table} WHERE at >= '{_day(2)}' AND at < '{_day(3)}' AND id % 7 = 0",
        f"UPDATE {events.table} SET name = 'changed' WHERE at >= '{_day(5)}' AND at < '{_day(6)}' "
        "AND id % 5 = 0",
        f"UPDATE {events.table} SET at = at + interval '10 days' WHERE id = {5 * PER_DAY + 1}",
        f"INSERT INTO {events.table} SELECT 1000000 + i, timestamp '{_day(2)}' + i * interval "
        "'1 minute', 'late' FROM generate_series(0, 99) AS i",
    )

    reruns = _backfill(project, changed)

    expected = _source(events, range(DAYS))
    rows, count = _table(project, events)
    assert count == len(expected)
    assert rows == expected
    assert [run["rows_loaded"] for run in reruns] == [
        {f"bronze.{events.table}": sum(1 for day, _ in expected.values() if day == key)}
        for key in changed
    ]
    # each rerun is one more commit (its window's delete and append) to its own window only
    windows = {d.replace("-", ""): 1 for d in days}
    windows.update({key.replace("-", ""): 2 for key in changed})
    assert _loads_by_window(project, events) == Counter(windows)


def _kill_at(project: FloeProject, runs: dict[str, tuple[_Run, str]]) -> None:
    """Kill each run (its process group) once a file of its window's pipeline matches its
    pattern; fail if a run ends first."""
    waiting = dict(runs)
    pipelines = project.root / ".floe" / "pipelines"
    deadline = time.monotonic() + 300
    while waiting and time.monotonic() < deadline:
        for key, (run, pattern) in list(waiting.items()):
            assert run.process.poll() is None, f"partition {key} ended before its kill"
            folder = pipelines / f"floe__events__bronze__w{key.replace('-', '')}"
            if any(folder.glob(pattern)):
                run.kill()
                del waiting[key]
        time.sleep(0.002)
    assert not waiting, f"not killed in time: {sorted(waiting)}"


@_catalogs("postgresql")
def test_partition_runs_killed_while_they_load_and_rerun_land_their_windows_once(
    floe_project_each_catalog: FloeProject, events: SourceDb
) -> None:
    from floe_testing.crash import MOMENTS, WRITING

    committed = MOMENTS[-1]  # the window's commit is made; dlt has not marked its job done
    project = _project(floe_project_each_catalog, events)
    writing, after_commit = _day(3), _day(4)

    _kill_at(
        project,
        {
            writing: (_Run(project, writing), WRITING),
            after_commit: (_Run(project, after_commit), committed),
        },
    )

    rows, _ = _table(project, events)
    assert {day for day, _ in rows.values()} == {after_commit}  # committed before its kill
    reruns = _backfill(project, [writing, after_commit])

    expected = _source(events, range(3, 5))
    rows, count = _table(project, events)
    assert count == len(expected) == 2 * PER_DAY
    assert rows == expected
    assert [run["rows_loaded"] for run in reruns] == [{f"bronze.{events.table}": PER_DAY}] * 2
    pipelines = project.root / ".floe" / "pipelines"
    assert [p.name for p in pipelines.iterdir() if p.is_dir()] == []  # nothing left pending
