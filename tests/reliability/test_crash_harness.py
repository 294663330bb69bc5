"""SIGKILL at points spread over each load and just after normalize, rerun: every row
lands exactly once. The same through Dagster: the source's asset job killed and rerun.

The harness is ``floe_testing.crash``; here it runs at CI size (20,000 SQL rows, 5,000 REST
items, six kills spread over each load and three after normalize). ``make reliability`` runs it
at full size (1,000,000 SQL rows, 200,000 REST items, ten and ten) and prints the kills survived
/ attempted.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from floe_testing.crash import WRITING, run_scenario

#: Kills per scenario at CI size: six spread over the load and three 0-200 ms after the package
#: is normalized (where dlt writes its files); four and two on the slower REST catalog. With the
#: Dagster runs that is 36 killed runs per CI run: a failure that one kill in ten provokes shows
#: up with probability 1 - 0.9**36 > 97%.
KILLS = {"sqlite": 6, "rest": 4}
AFTER_NORMALIZE = {"sqlite": 3, "rest": 2}
ROWS = {"sql-append": 20_000, "sql-merge": 20_000, "rest-append": 5_000}


def _rest_catalog(request: pytest.FixtureRequest) -> tuple[str, dict[str, str]]:
    """floe.yaml lines for the SeaweedFS REST catalog, with data and state on its S3."""
    weed = request.getfixturevalue("seaweedfs")
    header = weed.floe_header(f"crash-{uuid.uuid4().hex[:8]}")
    return header, {"S3_SECRET": weed.secret_key}


@pytest.mark.parametrize(
    ("scenario", "catalog"),
    [
        ("sql-append", "sqlite"),
        ("sql-merge", "sqlite"),
        ("rest-append", "sqlite"),
        ("sql-append", "rest"),
    ],
)
def test_killed_loads_rerun_to_exactly_the_source(
    tmp_path: Path, request: pytest.FixtureRequest, scenario: str, catalog: str
) -> None:
    header, env = _rest_catalog(request) if catalog == "rest" else ("", {})

    report = run_scenario(
        scenario,
        tmp_path,
        rows=ROWS[scenario],
        kills=KILLS[catalog],
        catalog_header=header,
        catalog=catalog,
        env=env,
        after_normalize=AFTER_NORMALIZE[catalog],
    )

    assert report.problems == []
    assert report.attempted >= KILLS[catalog], f"loads ended before their kill: {report.steps()}"
    assert report.survived == report.attempted
    # the kills are spread: reading the source and writing the table were both interrupted
    assert {"extract", "load"} <= {p.step for p in report.points}, report.steps()


#: A Dagster run spends most of its time starting (Dagster, dlt and the code location load before
#: the lock is taken), so CI kills it at fewer points: two spread over the load and one while the
#: Iceberg write runs.
DAGSTER_KILLS = 2
DAGSTER_ROWS = 5_000


@pytest.mark.parametrize("scenario", ["sql-merge"])  # make reliability runs the append too
def test_killed_dagster_runs_rerun_through_dagster_to_exactly_the_source(
    tmp_path: Path, scenario: str
) -> None:
    report = run_scenario(
        scenario,
        tmp_path,
        rows=DAGSTER_ROWS,
        kills=DAGSTER_KILLS,
        launcher="dagster",
        moments=(WRITING,),
    )

    assert report.problems == []
    assert report.attempted >= DAGSTER_KILLS + 1, f"runs ended before their kill: {report.steps()}"
    assert report.survived == report.attempted
    assert {"extract", "load"} <= {p.step for p in report.points}, report.steps()


def test_a_rerun_that_finishes_a_pending_package_reports_its_rows(tmp_path: Path) -> None:
    rows = 20_000
    with sqlite3.connect(tmp_path / "source.db") as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, name TEXT)")
        db.executemany("INSERT INTO events VALUES (?, ?)", ((i, f"e{i}") for i in range(rows)))
    (tmp_path / "floe.yaml").write_text(
        "ingestion:\n  sources:\n    - name: events\n      type: sql_database\n"
        "      config: {credentials: 'sqlite:///source.db', tables: [events]}\n"
        "      destination: {namespace: bronze}\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "floe_cli", "ingest", "run", "--json"]
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    killed = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL)
    normalized = tmp_path / ".floe" / "pipelines" / "floe__events__bronze" / "load" / "normalized"
    while killed.poll() is None and not any(normalized.glob("*")):
        time.sleep(0.002)
    assert killed.poll() is None, "the run ended before its package was normalized"
    killed.send_signal(signal.SIGKILL)
    killed.wait()

    rerun = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)

    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)["sources"][0]
    assert (summary["rows_loaded"], summary["tables"]) == (rows, {"bronze.events": rows})
    assert "finishing the load an earlier run left pending" in rerun.stderr
