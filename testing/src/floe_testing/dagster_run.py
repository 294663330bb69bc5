"""Run a source's Dagster asset job in this process, as a child process a test can kill.

``FLOE_CONFIG=floe.yaml DAGSTER_HOME=... python -m floe_testing.dagster_run SOURCE`` builds the
code location ``floe_orchestrator_dagster.definitions`` from ``FLOE_CONFIG``, executes the job
``ingest_<SOURCE>`` in process on the persistent Dagster instance of ``DAGSTER_HOME`` (created if
missing), prints a JSON summary as the last line of stdout (the logs may precede it) and exits
0 when the run succeeded, else 1 with the failure's first line as the last line of stderr.

``--partition KEY`` runs a partitioned source's window ``KEY``. ``--multiprocess`` executes the
job through ``execute_job`` with Dagster's multiprocess executor, each step in a child process
of its own, as a deployed run worker does (kill the process group to kill the run with its
steps).

The summary: ``success``; ``run_id``; ``partition``; ``rows_loaded`` and ``commit_conflicts``
per destination table (the assets' metadata); ``error`` (a ``Failure``'s description, else the
error), ``error_category`` and ``error_type`` of a failed step and the engine's ``attempts`` at
it; ``retries``, the steps Dagster put up for retry; ``step_seconds``, from the first step's
start to the last step's end, and ``steps``, those two moments as Unix times; ``peak_rss_kib``,
this process's peak resident set size (``process``) and the largest of its waited-for child
processes' (``children``: a multiprocess run's steps), from ``getrusage``, in KiB (Linux).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster import DagsterInstance, JobDefinition

__all__ = ["run_job", "source_job"]

#: this module by name: run as ``python -m``, its ``__name__`` is ``__main__``
_MODULE = "floe_testing.dagster_run"


def source_job(source: str) -> JobDefinition:
    """``ingest_<source>`` of the code location, as Dagster loads it (also in a step's process,
    which rebuilds the job from this function)."""
    from floe_orchestrator_dagster.definitions import defs

    return defs.resolve_job_def(f"ingest_{source}")


def run_job(
    source: str, *, partition: str | None = None, multiprocess: bool = False
) -> dict[str, Any]:
    """Execute ``ingest_<source>`` of ``$FLOE_CONFIG`` on the instance of ``$DAGSTER_HOME``."""
    from dagster import DagsterEventType, DagsterInstance

    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    with DagsterInstance.get() as instance:
        result = _execute(instance, source, partition, multiprocess)
        summary: dict[str, Any] = {
            "success": result.success,
            "run_id": result.run_id,
            "partition": partition,
            "rows_loaded": {},
            "commit_conflicts": {},
            "error": None,
            "error_category": None,
            "error_type": None,
            "attempts": None,
            "retries": 0,
            **_steps(instance, result.run_id),
        }
        for event in result.all_events:
            if event.event_type is DagsterEventType.STEP_UP_FOR_RETRY:
                summary["retries"] += 1
            elif event.event_type is DagsterEventType.ASSET_MATERIALIZATION:
                metadata = event.step_materialization_data.materialization.metadata
                table = str(metadata["destination_table"].value)
                summary["rows_loaded"][table] = metadata["rows_loaded"].value
                if "commit_conflicts" in metadata:
                    summary["commit_conflicts"][table] = metadata["commit_conflicts"].value
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
    summary["peak_rss_kib"] = _peak_rss()
    return summary


def _execute(
    instance: DagsterInstance, source: str, partition: str | None, multiprocess: bool
) -> Any:
    """The run's result: in process, or through ``execute_job`` with the multiprocess executor
    (its step events are read back from the instance, as a deployed run's are)."""
    if not multiprocess:
        job = source_job(source)
        return job.execute_in_process(
            instance=instance, partition_key=partition, raise_on_error=False
        )
    from dagster import build_reconstructable_job, execute_job

    tags = {"dagster/partition": partition} if partition is not None else None
    return execute_job(
        build_reconstructable_job(_MODULE, "source_job", (source,)),
        instance,
        run_config={"execution": {"config": {"multiprocess": {}}}},
        tags=tags,
    )


def _peak_rss() -> dict[str, int]:
    """Peak RSS in KiB of this process and of the largest child process it has waited for."""
    import resource

    return {
        "process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }


def _steps(instance: DagsterInstance, run_id: str) -> dict[str, Any]:
    """The run's first step start and last step end (Unix times) and the seconds between,
    from the event log."""
    from dagster import DagsterEventType

    ends = (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)
    starts = [
        entry.timestamp for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
    ]
    stops = [entry.timestamp for entry in instance.all_logs(run_id, of_type=set(ends))]
    if not starts or not stops:
        return {"step_seconds": None, "steps": None}
    return {
        "step_seconds": round(max(stops) - min(starts), 3),
        "steps": [min(starts), max(stops)],
    }


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {_MODULE}")
    parser.add_argument("source")
    parser.add_argument("--partition", help="the window of a partitioned source to run")
    parser.add_argument(
        "--multiprocess", action="store_true", help="steps in child processes (execute_job)"
    )
    args = parser.parse_args(argv)
    summary = run_job(args.source, partition=args.partition, multiprocess=args.multiprocess)
    print(json.dumps(summary), flush=True)
    if summary["success"]:
        return 0
    error = str(summary["error"] or "the run failed")
    print(error.splitlines()[0], file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
