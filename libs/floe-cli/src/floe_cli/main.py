"""Entry point of the `floe` command; heavy libraries load only in the commands using them."""

from __future__ import annotations

from pathlib import Path

import click

from floe_cli import __version__
from floe_cli._errors import handle_errors
from floe_cli._options import CONFIG_OPTION
from floe_cli.ingest import ingest
from floe_cli.plugins import plugins
from floe_cli.tables import tables

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="floe")
@click.option(
    "--log-format",
    type=click.Choice(["console", "json"]),
    default="console",
    show_default=True,
    help="Format of log events on stderr.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="warning",
    show_default=True,
    help="Lowest level of log events shown.",
)
def cli(log_format: str, log_level: str) -> None:
    """floe: declarative ingestion into Apache Iceberg tables."""
    from floe_cli._logging import remember_logging

    remember_logging(log_format, log_level)


@cli.command("compile")
@CONFIG_OPTION
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file."
)
@handle_errors
def compile_command(config_file: Path, output: Path | None) -> None:
    """Validate floe.yaml and write the compiled artifacts as JSON (secrets masked)."""
    from floe_core.compiler import compile_spec

    artifacts = compile_spec(config_file)
    text = artifacts.model_dump_json(indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"compiled {config_file} -> {output}", err=True)


cli.add_command(plugins)
cli.add_command(ingest)
cli.add_command(tables)


def main() -> None:
    cli()
