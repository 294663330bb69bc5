"""``floe ingest run`` and ``floe ingest check``."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from floe_cli._errors import EXIT_CONFIG, EXIT_FAILED, fail, handle_errors
from floe_cli._options import CONFIG_OPTION
from floe_cli._table import render_table

__all__ = ["ingest"]


@dataclass
class _Row:
    source: str
    target: str
    status: str = "pending"
    rows_loaded: int = 0
    bytes_written: int = 0
    duration_seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    error_category: str | None = None


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
@handle_errors
def run(config_file: Path, sources: tuple[str, ...], as_json: bool) -> None:
    """Run the project's sources and print a summary."""
    from floe_cli._project import load_ingestion

    _, plugin = load_ingestion(config_file)
    configured = [s.name for s in plugin.config.sources]
    unknown = [name for name in sources if name not in configured]
    if unknown:
        fail(
            f"{config_file}: no source named {unknown[0]!r} (sources: {', '.join(configured)})",
            EXIT_CONFIG,
        )
    if not configured:
        fail(f"{config_file}: ingestion.sources: no sources configured", EXIT_CONFIG)
    if not as_json and sys.stderr.isatty():
        plugin.progress = "log"
    rows: list[_Row] = []
    for source in plugin.config.sources:
        if sources and source.name not in sources:
            continue
        row = _Row(source=source.name, target=source.target)
        rows.append(row)
        click.echo(f"> {source.name}: {source.source_type} -> {source.target} ...", err=True)
        started = time.perf_counter()
        try:
            outcome = plugin.run_source(plugin.create_pipeline(source))
        except Exception as exc:
            row.status = "failed"
            row.duration_seconds = time.perf_counter() - started
            row.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            category = getattr(exc, "category", None)
            row.error_category = str(category) if category else None
            click.echo(f"x {source.name}: {row.error}", err=True)
            continue
        row.status = "success"
        row.rows_loaded = outcome.result.rows_loaded
        row.bytes_written = outcome.result.bytes_written
        row.duration_seconds = outcome.result.duration_seconds
        row.tables = outcome.tables
        click.echo(
            f"  {source.name}: {row.rows_loaded:,} rows in {row.duration_seconds:.1f}s", err=True
        )
    _print_summary(rows, as_json)
    if any(row.error_category == "configuration" for row in rows):
        sys.exit(EXIT_CONFIG)
    if any(row.status != "success" for row in rows):
        sys.exit(EXIT_FAILED)


def _print_summary(rows: list[_Row], as_json: bool) -> None:
    if as_json:
        payload: dict[str, Any] = {
            "success": all(r.status == "success" for r in rows),
            "sources": [
                {
                    "source": r.source,
                    "destination": r.target,
                    "status": r.status,
                    "rows_loaded": r.rows_loaded,
                    "bytes_written": r.bytes_written,
                    "duration_seconds": round(r.duration_seconds, 3),
                    "tables": r.tables,
                    "error": r.error,
                    "error_category": r.error_category,
                }
                for r in rows
            ],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    table: list[list[str]] = []
    for r in rows:
        namespace = r.target.split(".", 1)[0]
        per_table = r.tables or {r.target.split(".", 1)[1] if "*" not in r.target else "-": 0}
        for index, (name, count) in enumerate(sorted(per_table.items())):
            first = index == 0
            table.append(
                [
                    r.source if first else "",
                    f"{namespace}.{name}" if name != "-" else r.target,
                    f"{count:,}",
                    _human_bytes(r.bytes_written) if first else "",
                    f"{r.duration_seconds:.1f}" if first else "",
                    r.status if first else "",
                ]
            )
    click.echo(render_table(["source", "table", "rows", "bytes", "seconds", "status"], table))
    for r in rows:
        if r.error:
            category = f" [{r.error_category}]" if r.error_category else ""
            click.echo(f"{r.source}{category}: {r.error}")


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
    for source in plugin.config.sources:
        source_status = plugin.check_source(source)
        results.append((f"source {source.name}", source_status.state.value, source_status.message))
    results.insert(0, ("plugin", "healthy", f"{plugin.name} {plugin.version}"))
    click.echo(render_table(["component", "state", "message"], [list(r) for r in results]))
    if any(state != "healthy" for _, state, _ in results):
        sys.exit(EXIT_FAILED)
