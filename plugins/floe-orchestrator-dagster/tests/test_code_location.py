"""The code location loads the floe.yaml named by FLOE_CONFIG: CLI validation and the web UI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from floe_testing.fixtures.ingestion import FloeProject

MODULE = "floe_orchestrator_dagster.definitions"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def _env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["FLOE_CONFIG"] = str(config)
    return env


def _validate(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", MODULE],
        cwd=cwd, env=_env(config), capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def test_definitions_validate_passes_on_the_quickstart(
    quickstart: FloeProject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("cwd")

    result = _validate(quickstart.file, cwd=elsewhere)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Validation successful for code location" in result.stderr + result.stdout


def test_a_missing_floe_yaml_fails_validation_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "floe.yaml"

    result = _validate(missing, cwd=tmp_path)

    assert result.returncode != 0
    assert f"{missing}: file not found; set FLOE_CONFIG" in result.stderr + result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _graphql(port: int, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``data`` of a GraphQL answer; errors fail the test."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


def _wait_until_serving(port: int, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    pytest.fail(f"dagster-webserver did not answer within {seconds:g}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the webserver and the code server it started (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


_ASSETS = "{ assetNodes { assetKey { path } groupName } }"
_LAUNCH = """
mutation Launch($selector: JobOrPipelineSelector!) {
  launchRun(executionParams: {selector: $selector}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""
_STATUS = "query Status($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"


def _run_status(port: int, run_id: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    status = "UNKNOWN"
    while time.monotonic() < deadline:
        status = str(_graphql(port, _STATUS, {"id": run_id})["runOrError"]["status"])
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    return status


def test_webserver_lists_the_assets_and_runs_a_source(quickstart: FloeProject) -> None:
    port = _free_port()
    log = (quickstart.root / "webserver.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-m", MODULE, "-h", "127.0.0.1", "-p", str(port)],
        cwd=quickstart.root, env=_env(quickstart.file), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        _wait_until_serving(port, process, seconds=120)
        nodes = _graphql(port, _ASSETS)["assetNodes"]
        selector = {
            "repositoryLocationName": MODULE,
            "repositoryName": "__repository__",
            "jobName": "ingest_shop",
        }
        launched = _graphql(port, _LAUNCH, {"selector": selector})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        status = _run_status(port, launched["run"]["runId"], seconds=120)
    finally:
        _stop(process)
        log.close()

    assert sorted((n["assetKey"]["path"], n["groupName"]) for n in nodes) == [
        (["ingestion", "shop", "customers"], "shop"),
        (["ingestion", "shop", "orders"], "shop"),
    ]
    assert status == "SUCCESS", (quickstart.root / "webserver.log").read_text()[-3000:]
    assert quickstart.read("bronze.orders").num_rows == 5000
