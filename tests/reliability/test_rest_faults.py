"""A REST API that misbehaves: 30% of requests answer 429, 503 or stall; a token it refuses.

The API is a real HTTP server on loopback (``floe_testing.rest_server``) and floe runs as a user
runs it, by either route: ``floe ingest run``, or the source's Dagster asset job executed in a
child process (``floe_testing.dagster_run``). Retries are the engine's by category on both; the
table is read back through the catalog.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from floe_core.compiler import compile_spec
from floe_ingestion_dlt.plugin import DltIngestionPlugin
from floe_testing.rest_server import Faults, ItemsServer, rest_source

ITEMS = 10_000
TOKEN = "tok-3f9a-canary"  # a token the API refuses
ROUTES = ["cli", "dagster"]
#: floe's retries of a transient failure, spaced so that one retry would show in the duration
SLOW_RETRY = {"max_retries": 3, "initial_delay_seconds": 30.0}


def _run(
    root: Path,
    source: dict[str, Any],
    route: str,
    retry: dict[str, float] | None = None,
    **env: str,
) -> dict[str, Any]:
    """Run ``source`` by ``route``: exit code, rows, error and category, and all output."""
    document: dict[str, Any] = {"ingestion": {"sources": [source]}}
    if retry is not None:
        document = {"retry": retry, **document}
    (root / "floe.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    command = ["floe_cli", "ingest", "run", "--json"]
    if route == "dagster":
        command = ["floe_testing.dagster_run", source["name"]]
    run = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={
            **os.environ,
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "FLOE_CONFIG": str(root / "floe.yaml"),
            "DAGSTER_HOME": str(root / ".dagster"),
            **env,
        },
    )
    assert run.returncode in (0, 1), run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1] if route == "dagster" else run.stdout)
    output = run.stdout + run.stderr
    if route == "dagster":
        return {
            "returncode": run.returncode,
            "rows_loaded": sum(summary["rows_loaded"].values()),
            "error": summary["error"],
            "error_category": summary["error_category"],
            "dagster_retries": summary["retries"],
            "attempts": summary["attempts"],
            "duration_seconds": summary["step_seconds"],
            "output": output,
        }
    result = summary["sources"][0]
    return {**result, "returncode": run.returncode, "dagster_retries": 0, "output": output}


def _ids(root: Path, table: str) -> list[int]:
    plugin = DltIngestionPlugin()
    plugin.configure(compile_spec(root / "floe.yaml"))
    ids: list[int] = plugin.read_table(table)["id"].to_pylist()
    return ids


@pytest.mark.parametrize("route", ROUTES)
def test_thirty_percent_faults_still_land_every_item_exactly_once(
    tmp_path: Path, route: str
) -> None:
    faults = Faults(rate=0.3, seed=11, stall_seconds=1.5)
    http = {"timeout_seconds": 0.5, "max_attempts": 4, "backoff_factor": 0}
    with ItemsServer(ITEMS, faults=faults) as api:
        run = _run(tmp_path, rest_source(api.url, page_size=100, http=http), route)
        requests = api.requests

    assert run["returncode"] == 0, run["output"][-3000:]
    assert run["rows_loaded"] == ITEMS
    assert run["dagster_retries"] == 0  # the engine retries; Dagster does not on top of it
    ids = _ids(tmp_path, "bronze.items")
    assert len(ids) == ITEMS
    assert set(ids) == set(range(1, ITEMS + 1))
    # the faults really happened, at about the rate asked for, of every kind
    injected = sum(faults.injected.values())
    assert set(faults.injected) == {"429", "503", "stall"}
    assert 0.2 < injected / requests < 0.4, (injected, requests)


@pytest.mark.parametrize("route", ROUTES)
def test_a_refused_token_fails_at_once_naming_the_source_and_the_reason(
    tmp_path: Path, route: str
) -> None:
    with ItemsServer(ITEMS, token="the-right-token") as api:
        source = rest_source(api.url, token_env="API_TOKEN")
        run = _run(tmp_path, source, route, retry=SLOW_RETRY, API_TOKEN=TOKEN)
        items_requests = api.requests

    assert run["returncode"] == 1
    assert run["error_category"] == "permanent"
    assert run["duration_seconds"] < SLOW_RETRY["initial_delay_seconds"]  # no retry by floe
    assert items_requests == 1  # no retry, by the client, by floe or by Dagster
    assert run["dagster_retries"] == 0
    assert run["attempts"] == 1
    # Dagster's failure is the engine's message after its category
    message = run["error"].removeprefix("[permanent] ") if route == "dagster" else run["error"]
    assert message.startswith("source 'api' (rest_api) -> bronze.*: extract failed: HTTPError: 401")
    assert "\n" not in message
    assert TOKEN not in run["output"]
    assert not (tmp_path / ".floe" / "warehouse" / "bronze" / "items").exists()
