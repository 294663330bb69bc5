"""``floe tables``: look at what landed, through the catalog."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from floe_cli._errors import EXIT_FAILED, fail, handle_errors
from floe_cli._options import CONFIG_OPTION
from floe_cli._table import render_table

__all__ = ["tables"]

T = TypeVar("T")


@click.group()
def tables() -> None:
    """List, show and maintain Iceberg tables."""


@tables.command("list")
@CONFIG_OPTION
@handle_errors
def list_tables(config_file: Path) -> None:
    """Every table in the project's catalog."""
    from floe_cli._project import load_ingestion

    _, plugin = load_ingestion(config_file)
    names = plugin.list_tables()
    if not names:
        click.echo("no tables yet: run 'floe ingest run' first", err=True)
    for name in names:
        click.echo(name)


def _load_or_fail(action: Callable[[str], T], name: str) -> T:
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    try:
        return action(name)
    except (NoSuchTableError, NoSuchNamespaceError, ValueError):
        fail(f"no table {name!r} in the catalog (see 'floe tables list')", EXIT_FAILED)
        raise


@tables.command("show")
@click.argument("name")
@CONFIG_OPTION
@click.option("--limit", default=20, show_default=True, help="Rows to show.")
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON lines.")
@click.option("--stats", is_flag=True, help="Show the table's health instead of its rows.")
@handle_errors
def show(name: str, config_file: Path, limit: int, as_json: bool, stats: bool) -> None:
    """The first rows of table NAME (namespace.table)."""
    from floe_cli._project import load_ingestion

    _, plugin = load_ingestion(config_file)
    if stats:
        _print_stats(_load_or_fail(plugin.table_stats, name).as_dict(), as_json)
        return
    table = _load_or_fail(plugin.read_table, name)
    rows = table.slice(0, limit).to_pylist()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, default=str))
        return
    headers = list(table.column_names)
    cells = [[_cell(row[h]) for h in headers] for row in rows]
    click.echo(render_table(headers, cells))
    click.echo(f"({len(rows)} of {table.num_rows} rows shown)", err=True)


def _cell(value: object) -> str:
    text = "NULL" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


@tables.command("history")
@click.argument("name")
@CONFIG_OPTION
@handle_errors
def history(name: str, config_file: Path) -> None:
    """The snapshots of table NAME, oldest first."""
    from floe_cli._project import load_ingestion

    _, plugin = load_ingestion(config_file)
    snapshots = _load_or_fail(plugin.table_history, name)
    rows = [
        [
            str(s["snapshot_id"]),
            datetime.fromtimestamp(s["timestamp_ms"] / 1000, UTC).isoformat(timespec="seconds"),
            s["operation"],
            f"{s['added_records']:,}",
            f"{s['total_records']:,}",
            s.get("source", ""),
            s.get("load_id", ""),
        ]
        for s in snapshots
    ]
    headers = ["snapshot", "committed", "operation", "added", "total", "source", "load id"]
    click.echo(render_table(headers, rows))


@tables.command("stats")
@click.argument("name")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@handle_errors
def stats(name: str, config_file: Path, as_json: bool) -> None:
    """Health of table NAME: data files, average file size, snapshots, partitions."""
    from floe_cli._project import load_ingestion

    _, plugin = load_ingestion(config_file)
    _print_stats(_load_or_fail(plugin.table_stats, name).as_dict(), as_json)


def _print_stats(figures: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(figures))
        return
    rows = [
        [key.replace("_", " "), "never" if value is None else str(value)]
        for key, value in figures.items()
        if key != "table"
    ]
    click.echo(f"{figures['table']}")
    click.echo(render_table(["", ""], rows).split("\n", 2)[2])


@tables.command("maintain")
@click.argument("names", nargs=-1)
@CONFIG_OPTION
@click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per table.")
@handle_errors
def maintain(names: tuple[str, ...], config_file: Path, dry_run: bool, as_json: bool) -> None:
    """Compact, expire snapshots and remove orphan files of tables NAMES (default: all), per
    the maintenance policy of floe.yaml. Exit 1 when a table could not be maintained."""
    from floe_cli._project import load_ingestion

    _, plugin = load_ingestion(config_file)
    results = plugin.maintain(list(names) or None, dry_run=dry_run)
    figures = [result.as_dict() for result in results]
    if as_json:
        for item in figures:
            click.echo(json.dumps(item))
    else:
        headers = [
            "table",
            "files before",
            "files after",
            "bytes rewritten",
            "snapshots expired",
            "orphans removed",
            "compaction",
        ]
        rows = [
            [
                f["table"],
                str(f["data_files_before"]),
                str(f["data_files_after"]),
                f"{f['bytes_rewritten']:,}",
                str(f["snapshots_expired"]),
                str(f["orphan_files_removed"]),
                f["compaction"] if f["error"] is None else "failed",
            ]
            for f in figures
        ]
        if rows:
            click.echo(render_table(headers, rows))
        if dry_run:
            click.echo("dry run: nothing was changed", err=True)
    for result in results:
        if result.error is not None:
            click.echo(f"error: {result.error}", err=True)
    if any(not result.ok for result in results):
        sys.exit(EXIT_FAILED)


@tables.command("audit")
@click.argument("name")
@CONFIG_OPTION
@handle_errors
def audit(name: str, config_file: Path) -> None:
    """Run the checks floe.yaml declares for table NAME on its main branch now.

    Exit 1 when an error check fails; failed warn checks are shown and do not change the exit.
    """
    import sys

    from floe_cli._project import load_ingestion

    _, plugin = load_ingestion(config_file)
    results = _load_or_fail(plugin.engine.audit, name)
    if not results:
        click.echo(f"no checks are declared for {name!r} in {config_file}", err=True)
        return
    for result in results:
        click.echo(result.line())
    if any(r.blocking for r in results):
        sys.exit(EXIT_FAILED)


@tables.command("publish")
@click.argument("name")
@click.option("--branch", required=True, help="The kept audit branch, e.g. audit-1733100000.1.")
@CONFIG_OPTION
@handle_errors
def publish(name: str, branch: str, config_file: Path) -> None:
    """Publish a kept audit BRANCH of table NAME: main moves to it, without running the checks.

    Rows the load brought land once: a later run does not read the published range again only
    if its incremental state advanced, which a failed audit prevents; publish by hand only
    loads whose rows no later run loaded again.
    """
    from floe_cli._project import load_ingestion

    _, plugin = load_ingestion(config_file)
    try:
        snapshot = plugin.engine.publish(name, branch)
    except ValueError as exc:  # no such branch, or main moved since (PublishConflictError)
        fail(str(exc), EXIT_FAILED)
        raise
    click.echo(f"{name}: main is now snapshot {snapshot} (branch {branch} published and removed)")
