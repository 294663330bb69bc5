"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["CONFIG_OPTION"]

CONFIG_OPTION = click.option(
    "-f",
    "--file",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("floe.yaml"),
    show_default=True,
    help="The project's floe.yaml.",
)
