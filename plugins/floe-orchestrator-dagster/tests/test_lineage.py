"""OpenLineage events for ingestion assets, through the instance's event log (dagster-openlineage)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance
from floe_core import compile_spec
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
from floe_testing.fixtures.ingestion import FloeProject

_INSTANCE = """\
telemetry:
  enabled: false
event_log_storage:
  module: dagster_openlineage
  class: OpenLineageEventLogStorage
  config:
    wrapped:
      module: dagster._core.storage.event_log
      class: SqliteEventLogStorage
      config:
        base_dir: {base_dir}
    namespace: floe
"""


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """An OpenLineage HTTP endpoint on loopback; ``OPENLINEAGE_URL`` points at it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{server.server_address[1]}")
    yield received
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def _instance(root: Path) -> DagsterInstance:
    home = root / "dagster_home"
    home.mkdir()
    config = _INSTANCE.format(base_dir=home / "history" / "runs")
    (home / "dagster.yaml").write_text(config, encoding="utf-8")
    return DagsterInstance.from_config(str(home))


def test_materializing_ingestion_assets_emits_openlineage_runs(
    quickstart: FloeProject, collector: list[dict[str, Any]]
) -> None:
    defs = DagsterOrchestratorPlugin().create_definitions(compile_spec(quickstart.file))
    with _instance(quickstart.root) as instance:
        result = defs.resolve_job_def("ingest_shop").execute_in_process(instance=instance)
    assert result.success

    events = {(e["eventType"], e["job"]["name"]): e for e in collector}
    for resource in ("customers", "orders"):
        name = f"ingestion/shop/{resource}"
        assert ("START", name) in events
        complete = events[("COMPLETE", name)]
        assert complete["job"]["namespace"] == "floe"
        [output] = complete["outputs"]
        assert (output["namespace"], output["name"]) == ("floe", name)
        fields = {f["name"] for f in output["facets"]["schema"]["fields"]}
        assert {"id", "updated_at"} <= fields


def test_a_failed_source_emits_a_fail_event(
    floe_project: FloeProject, collector: list[dict[str, Any]]
) -> None:
    (floe_project.root / "data").mkdir()
    (floe_project.root / "data" / "bad.csv").write_bytes(b"id,name\n1,a\n2,b,extra\n")
    floe_project.write(
        """
        ingestion:
          sources:
            - name: files
              type: filesystem
              config: {bucket_url: data, file_glob: "*.csv", table_name: items}
              destination: {namespace: bronze}
        """
    )
    defs = DagsterOrchestratorPlugin().create_definitions(compile_spec(floe_project.file))
    with _instance(floe_project.root) as instance:
        job = defs.resolve_job_def("ingest_files")
        assert not job.execute_in_process(instance=instance, raise_on_error=False).success

    [fail] = [e for e in collector if e["eventType"] == "FAIL"]
    assert fail["job"]["name"] == "ingestion/files/items"
    # dagster-openlineage 0.2 synthesizes the message; floe's error is in Dagster's event log.
    assert fail["run"]["facets"]["errorMessage"]["message"]
