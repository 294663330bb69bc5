"""A REST API that misbehaves: 30% of requests answer 429, 503 or stall; a token it refuses.

The API is a real HTTP server on loopback (``floe_testing.rest_server``) and floe runs as a user
runs it, ``floe ingest run``; the table is read back through the catalog.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from floe_core.compiler import compile_spec
from floe_ingestion_dlt.plugin import DltIngestionPlugin
from floe_testing.rest_server import Faults, ItemsServer, rest_source

ITEMS = 10_000
TOKEN = "tok-3f9a-canary"  # a token the API refuses


def _run(root: Path, source: dict[str, Any], **env: str) -> subprocess.CompletedProcess[str]:
    document = {"ingestion": {"sources": [source]}}
    (root / "floe.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "floe_cli", "ingest", "run", "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", **env},
    )


def _ids(root: Path, table: str) -> list[int]:
    plugin = DltIngestionPlugin()
    plugin.configure(compile_spec(root / "floe.yaml"))
    ids: list[int] = plugin.read_table(table)["id"].to_pylist()
    return ids


def test_thirty_percent_faults_still_land_every_item_exactly_once(tmp_path: Path) -> None:
    faults = Faults(rate=0.3, seed=11, stall_seconds=1.5)
    http = {"timeout_seconds": 0.5, "max_attempts": 4, "backoff_factor": 0}
    with ItemsServer(ITEMS, faults=faults) as api:
        run = _run(tmp_path, rest_source(api.url, page_size=100, http=http))
        requests = api.requests

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["sources"][0]["rows_loaded"] == ITEMS
    ids = _ids(tmp_path, "bronze.items")
    assert len(ids) == ITEMS
    assert set(ids) == set(range(1, ITEMS + 1))
    # the faults really happened, at about the rate asked for, of every kind
    injected = sum(faults.injected.values())
    assert set(faults.injected) == {"429", "503", "stall"}
    assert 0.2 < injected / requests < 0.4, (injected, requests)


def test_a_refused_token_fails_at_once_naming_the_source_and_the_reason(tmp_path: Path) -> None:
    with ItemsServer(ITEMS, token="the-right-token") as api:
        source = rest_source(api.url, token_env="API_TOKEN")
        run = _run(tmp_path, source, API_TOKEN=TOKEN)
        items_requests = api.requests

    assert run.returncode == 1
    result = json.loads(run.stdout)["sources"][0]
    assert result["error_category"] == "permanent"
    assert result["duration_seconds"] < 2
    assert items_requests == 1  # no retry, by the client or by floe
    message = result["error"]
    assert message.startswith("source 'api' (rest_api) -> bronze.*: extract failed: HTTPError: 401")
    assert "\n" not in message
    assert TOKEN not in run.stdout + run.stderr
    assert not (tmp_path / ".floe" / "warehouse" / "bronze" / "items").exists()
