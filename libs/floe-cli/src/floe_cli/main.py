"""Entry point of the `floe` command; heavy libraries load only in the commands using them."""

from __future__ import annotations

from pathlib import Path

import click

from floe_cli import __version__
from floe_cli._errors import handle_errors
from floe_cli.plugins import plugins

__all__ = ["cli", "main"]

CONFIG_OPTION = click.option(
    "-f",
    "--file",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("floe.yaml"),
    show_default=True,
    help="The project's floe.yaml.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="floe")
def cli() -> None:
    """floe: declarative ingestion into Apache Iceberg tables."""


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


def main() -> None:
    cli()
