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
    from floe_core.engine import LoadResult

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
@handle_errors
def run(config_file: Path, sources: tuple[str, ...], as_json: bool, strict: bool) -> None:
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
    outcomes = [
        engine.load(source.name, on_event=display, strict=strict)
        for source in plugin.sources
        if not sources or source.name in sources
    ]
    _print_summary(outcomes, as_json)
    if any(o.category == "configuration" for o in outcomes):
        sys.exit(EXIT_CONFIG)
    if not all(o.ok for o in outcomes):
        sys.exit(EXIT_FAILED)


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
                    "error": _error_line(o),
                    "error_category": str(o.category) if o.category else None,
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
                    o.source if first else "",
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
