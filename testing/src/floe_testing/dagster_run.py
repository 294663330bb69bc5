"""Run a source's Dagster asset job in this process, as a child process a test can kill.

``FLOE_CONFIG=floe.yaml DAGSTER_HOME=... python -m floe_testing.dagster_run SOURCE`` builds the
code location ``floe_orchestrator_dagster.definitions`` from ``FLOE_CONFIG``, executes the job
``ingest_<SOURCE>`` in process on the persistent Dagster instance of ``DAGSTER_HOME`` (created if
missing), prints a JSON summary as the last line of stdout (the logs may precede it) and exits
0 when the run succeeded, else 1 with the failure's first line as the last line of stderr.

The summary: ``success``; ``rows_loaded`` per destination table (the assets' ``rows_loaded``
metadata); ``error`` (a ``Failure``'s description, else the error), ``error_category`` and
``error_type`` of a failed step and the engine's ``attempts`` at it; ``retries``, the steps
Dagster put up for retry; ``step_seconds``, from the first step's start to the last step's end.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster import DagsterInstance

__all__ = ["run_job"]


def run_job(source: str) -> dict[str, Any]:
    """Execute ``ingest_<source>`` of ``$FLOE_CONFIG`` on the instance of ``$DAGSTER_HOME``."""
    from dagster import DagsterEventType, DagsterInstance

    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    from floe_orchestrator_dagster.definitions import defs  # the code location, as Dagster loads it

    with DagsterInstance.get() as instance:
        job = defs.resolve_job_def(f"ingest_{source}")
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        summary: dict[str, Any] = {
            "success": result.success,
            "rows_loaded": {},
            "error": None,
            "error_category": None,
            "error_type": None,
            "attempts": None,
            "retries": 0,
            "step_seconds": _step_seconds(instance, result.run_id),
        }
        for event in result.all_events:
            if event.event_type is DagsterEventType.STEP_UP_FOR_RETRY:
                summary["retries"] += 1
            elif event.event_type is DagsterEventType.ASSET_MATERIALIZATION:
                metadata = event.step_materialization_data.materialization.metadata
                table = str(metadata["destination_table"].value)
                summary["rows_loaded"][table] = metadata["rows_loaded"].value
            elif event.event_type is DagsterEventType.STEP_FAILURE:
                data = event.step_failure_data
                if data.error is not None:
                    summary["error"] = data.error.message.strip()
                if data.user_failure_data is not None:
                    # a Failure's description: its message without Dagster's class prefix
                    summary["error"] = data.user_failure_data.description or summary["error"]
                    found = data.user_failure_data.metadata
                    for name in ("error_category", "error_type", "attempts"):
                        if name in found:
                            summary[name] = found[name].value
    return summary


def _step_seconds(instance: DagsterInstance, run_id: str) -> float | None:
    """Seconds from the run's first step start to its last step end, from the event log."""
    from dagster import DagsterEventType

    ends = (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)
    starts = [
        entry.timestamp for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
    ]
    stops = [entry.timestamp for entry in instance.all_logs(run_id, of_type=set(ends))]
    if not starts or not stops:
        return None
    return round(max(stops) - min(starts), 3)


def _main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m floe_testing.dagster_run SOURCE", file=sys.stderr)
        return 2
    summary = run_job(argv[0])
    print(json.dumps(summary), flush=True)
    if summary["success"]:
        return 0
    error = str(summary["error"] or "the run failed")
    print(error.splitlines()[0], file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
