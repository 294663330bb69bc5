"""``floe plugins``: what is installed, read from package metadata without importing plugins."""

from __future__ import annotations

import json
from importlib.metadata import distributions

import click

__all__ = ["plugins"]

_PREFIX = "floe."


@click.group()
def plugins() -> None:
    """Inspect installed plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_plugins(as_json: bool) -> None:
    """List installed plugins by type, with the distribution providing each."""
    rows: list[dict[str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    for dist in distributions():
        # Cheap text check first: parsing metadata of every installed distribution is slow.
        text = dist.read_text("entry_points.txt")
        if not text or f"[{_PREFIX}" not in text:
            continue
        name, version = dist.metadata["Name"], dist.version
        for ep in dist.entry_points:
            if not ep.group.startswith(_PREFIX):
                continue
            row = {
                "type": ep.group.removeprefix(_PREFIX),
                "name": ep.name,
                "distribution": name,
                "version": version,
            }
            key = (row["type"], row["name"], row["distribution"])
            if key not in seen:
                seen.add(key)
                rows.append(row)
    rows.sort(key=lambda r: (r["type"], r["name"]))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no floe plugins installed")
        return
    width = max(len(r["name"]) for r in rows) + 2
    current = ""
    for row in rows:
        if row["type"] != current:
            current = row["type"]
            click.echo(current)
        click.echo(f"  {row['name']:<{width}}{row['distribution']} {row['version']}")
