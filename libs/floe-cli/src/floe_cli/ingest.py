"""``floe ingest run`` and ``floe ingest check``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from floe_cli._errors import EXIT_CONFIG, EXIT_FAILED, fail, handle_errors
from floe_cli._options import CONFIG_OPTION
from floe_cli._table import render_table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from floe_core.engine import CheckOutcome, LoadResult
    from floe_core.spec import SourceSpec
    from floe_core.windows import TimeWindow

__all__ = ["ingest"]


def _human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


@click.group()
def ingest() -> None:
    """Load sources into Iceberg tables."""


@ingest.command("run")
@CONFIG_OPTION
@click.option("--source", "sources", multiple=True, help="Run only this source (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option(
    "--strict", is_flag=True, help="Fail a source on what it would only warn about (see docs)."
)
@click.option("--partition", help="Load one time window of the partitioned sources (its key).")
@click.option("--from", "from_", help="With --to: load every window from this date or time ...")
@click.option("--to", help="... up to this one (excluded), one commit per window.")
@handle_errors
def run(
    config_file: Path,
    sources: tuple[str, ...],
    as_json: bool,
    strict: bool,
    partition: str | None,
    from_: str | None,
    to: str | None,
) -> None:
    """Run the project's sources and print a summary."""
    from floe_cli._progress import ProgressDisplay
    from floe_cli._project import load_ingestion

    _, plugin = load_ingestion(config_file)
    configured = [s.name for s in plugin.sources]
    unknown = [name for name in sources if name not in configured]
    if unknown:
        fail(
            f"{config_file}: no source named {unknown[0]!r} (sources: {', '.join(configured)})",
            EXIT_CONFIG,
        )
    if not configured:
        fail(f"{config_file}: ingestion.sources: no sources configured", EXIT_CONFIG)
    engine = plugin.engine
    display = ProgressDisplay(sys.stderr, live=not as_json and sys.stderr.isatty())
    selected = [s for s in plugin.sources if not sources or s.name in sources]
    runs = _windows(config_file, selected, partition, from_, to, explicit=bool(sources))
    outcomes = [
        engine.load(source.name, on_event=display, strict=strict, window=window)
        for source, window in runs
    ]
    _print_summary(outcomes, as_json)
    if any(o.category == "configuration" for o in outcomes):
        sys.exit(EXIT_CONFIG)
    if not all(o.ok for o in outcomes):
        sys.exit(EXIT_FAILED)


def _windows(
    config_file: Path,
    selected: Sequence[SourceSpec],
    partition: str | None,
    from_: str | None,
    to: str | None,
    *,
    explicit: bool,
) -> list[tuple[SourceSpec, TimeWindow | None]]:
    """The loads to run: each selected source once, or each window of the partitioned ones
    (sources without partitions are left out, unless named with --source: then refused)."""
    from floe_core.windows import window_at, windows_between

    if partition is None and from_ is None and to is None:
        return [(source, None) for source in selected]
    if partition is not None and (from_ or to):
        fail(f"{config_file}: give --partition, or --from and --to, not both", EXIT_CONFIG)
    if partition is None and not (from_ and to):
        fail(f"{config_file}: --from and --to go together", EXIT_CONFIG)
    partitioned = [s for s in selected if s.partitions is not None]
    without = [s.name for s in selected if s.partitions is None]
    if not partitioned or (explicit and without):
        fail(
            f"{config_file}: ingestion.sources: loading a window needs sources with "
            f"partitions: ({', '.join(without)} {'has' if len(without) == 1 else 'have'} none)",
            EXIT_CONFIG,
        )
    runs: list[tuple[SourceSpec, TimeWindow | None]] = []
    try:
        for source in partitioned:
            assert source.partitions is not None  # nosec B101  # narrows the type; checked upstream
            every = source.partitions.every
            if partition is not None:
                runs.append((source, window_at(partition, every)))
            else:
                assert from_ is not None  # nosec B101  # narrows the type; checked upstream
                assert to is not None  # nosec B101  # narrows the type; checked upstream
                windows = list(windows_between(from_, to, every))
                if not windows:
                    raise ValueError(f"--to {to} is not after --from {from_}")
                runs += [(source, w) for w in windows]
    except ValueError as exc:
        fail(f"{config_file}: --partition/--from/--to: {exc}", EXIT_CONFIG)
    return runs


def _error_line(outcome: LoadResult) -> str | None:
    if outcome.error is None:
        return None
    text = str(outcome.error)
    return text.splitlines()[0] if text else type(outcome.error).__name__


def _print_summary(outcomes: list[LoadResult], as_json: bool) -> None:
    if as_json:
        payload: dict[str, Any] = {
            "success": all(o.ok for o in outcomes),
            "sources": [
                {
                    "source": o.source,
                    "destination": o.target,
                    "status": o.status,
                    "rows_loaded": o.rows_loaded,
                    "bytes_written": o.bytes_written,
                    "duration_seconds": round(o.duration_seconds, 3),
                    "tables": o.rows_per_table,
                    "snapshots": {t.table: t.snapshot_id for t in o.tables},
                    "load_ids": list(o.load_ids),
                    "attempts": o.attempts,
                    "window": o.window,
                    "error": _error_line(o),
                    "error_category": str(o.category) if o.category else None,
                    "maintenance": [m.as_dict() for m in o.maintenance],
                    "checks": [_check_json(c) for c in o.checks],
                }
                for o in outcomes
            ],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    table: list[list[str]] = []
    for o in outcomes:
        per_table = o.rows_per_table or {o.target: 0}
        for index, (name, count) in enumerate(sorted(per_table.items())):
            first = index == 0
            table.append(
                [
                    (f"{o.source} [{o.window}]" if o.window else o.source) if first else "",
                    name,
                    f"{count:,}",
                    _human_bytes(o.bytes_written) if first else "",
                    f"{o.duration_seconds:.1f}" if first else "",
                    o.status if first else "",
                ]
            )
    click.echo(render_table(["source", "table", "rows", "bytes", "seconds", "status"], table))
    for o in outcomes:
        line = _error_line(o)
        if line:
            category = f" [{o.category}]" if o.category else ""
            click.echo(f"{o.source}{category}: {line}")
        for report in o.maintenance:  # after_load: the load stays a success
            if report.error is not None:
                click.echo(
                    f"{o.source}: warning: maintenance after the load failed: {report.error}"
                )
        for result in o.checks:
            if not result.passed:
                click.echo(f"  {result.line()}")


def _check_json(result: CheckOutcome) -> dict[str, Any]:
    return {
        "table": result.table,
        "check": result.check,
        "severity": result.severity,
        "passed": result.passed,
        "failing_rows": result.failing_rows,
        "examples": list(result.examples),
    }


@ingest.command("plan")
@CONFIG_OPTION
@click.option("--source", "sources", multiple=True, help="Plan only this source (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON on stdout.")
@handle_errors
def plan(config_file: Path, sources: tuple[str, ...], as_json: bool) -> None:
    """What a run would do per source and table, changing nothing (catalog, warehouse, state).

    Exits 1 when the run would be refused (a type change Iceberg refuses, a new column under
    schema_contract: freeze), naming table and column.
    """
    from floe_cli._project import load_ingestion

    _, plugin = load_ingestion(config_file)
    configured = [s.name for s in plugin.sources]
    unknown = [name for name in sources if name not in configured]
    if unknown:
        fail(
            f"{config_file}: no source named {unknown[0]!r} (sources: {', '.join(configured)})",
            EXIT_CONFIG,
        )
    plans = [
        plugin.engine.plan(s.name).as_dict()
        for s in plugin.sources
        if not sources or s.name in sources
    ]
    if as_json:
        click.echo(json.dumps({"sources": plans}, indent=2))
    else:
        for source in plans:
            _print_plan(source)
    refused = [line for source in plans for line in source["refused"]]
    for line in refused:
        click.echo(f"refused: {line}", err=True)
    if refused:
        sys.exit(EXIT_FAILED)


def _print_plan(source: dict[str, Any]) -> None:
    mode = source["write_mode"] + (
        f" ({source['merge_strategy']})" if source["merge_strategy"] else ""
    )
    click.echo(
        f"source {source['source']} ({source['source_type']}): {mode}, publish "
        f"{source['publish']}, schema contract {source['schema_contract']}"
    )
    if source["pending_loads"]:
        click.echo(
            f"  finishes the pending load {', '.join(source['pending_loads'])} first; "
            "the source is read on the run after"
        )
    if source["source_error"]:
        click.echo(f"  the source {source['source_error']}")
    rows = [
        [
            t["table"],
            f"{t['rows']:,} rows" if t["exists"] else "new table",
            _reads(t),
            _estimate(t["estimate"]),
            "; ".join(t["checks"]) or "-",
        ]
        for t in source["tables"]
    ]
    click.echo(render_table(["table", "now", "reads", "estimate", "checks"], rows))
    for t in source["tables"]:
        for change in t["schema_diff"]:
            before = change["before"] or "new"
            click.echo(
                f"  {t['table']}: column {change['column']}: {before} -> {change['after']}, "
                f"{change['outcome']}"
            )
        if t["new_columns"]:
            click.echo(f"  {t['table']}: created with {', '.join(t['new_columns'])}")
        later = " (with the first load that brings it rows)" if t["estimate"]["rows"] == 0 else ""
        for line in t["layout_changes"]:
            click.echo(f"  {t['table']}: {line}{later}")
        estimate = t["estimate"]
        if estimate["how"] and (estimate["rows"] is None or estimate["files"] is not None):
            click.echo(f"  {t['table']}: estimate: {estimate['how']}")


def _estimate(estimate: dict[str, Any]) -> str:
    if estimate["files"] is not None:
        size = _human_bytes(estimate["bytes"] or 0)
        return f"{estimate['files']:,} files, {size}"
    if estimate["rows"] is not None:
        return f"{estimate['rows']:,} rows"
    return "unknown"


def _reads(table: dict[str, Any]) -> str:
    if table["cursor_field"] is None:
        return "everything"
    if table["reads_after"] is None:
        return f"everything ({table['cursor_field']} from the start)"
    return f"{table['cursor_field']} > {table['reads_after']}"


@ingest.command("check")
@CONFIG_OPTION
@handle_errors
def check(config_file: Path) -> None:
    """Check the plugin, catalog, storage and every source."""
    from floe_cli._project import load_ingestion

    _, plugin = load_ingestion(config_file)
    results: list[tuple[str, str, str]] = []
    status = plugin.health_check()
    results.append(("catalog", status.state.value, status.message))
    storage = plugin.check_storage()
    if storage is not None:
        results.append(("storage", storage.state.value, storage.message))
    for source in plugin.sources:
        source_status = plugin.check_source(source)
        results.append((f"source {source.name}", source_status.state.value, source_status.message))
    results.insert(0, ("plugin", "healthy", f"{plugin.name} {plugin.version}"))
    click.echo(render_table(["component", "state", "message"], [list(r) for r in results]))
    if any(state != "healthy" for _, state, _ in results):
        sys.exit(EXIT_FAILED)
