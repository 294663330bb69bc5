"""Loading a project: compile floe.yaml and configure its ingestion plugin."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from floe_core.artifacts import CompiledArtifacts
    from floe_core.engine import ProjectIngestion

__all__ = ["load_ingestion"]


def load_ingestion(config_file: Path) -> tuple[CompiledArtifacts, ProjectIngestion]:
    """The compiled project and its configured ingestion plugin.

    Raises:
        FloeConfigError: invalid floe.yaml, or a source's config block rejected by its plugin.
        PluginError: the ingestion plugin is not installed or cannot load.
    """
    from floe_core._yaml import load_yaml
    from floe_core.compiler import compile_spec
    from floe_core.engine import ProjectIngestion as ProjectIngestionType
    from floe_core.errors import FloeConfigError, PluginNotFoundError
    from floe_core.plugin_types import PluginType
    from floe_core.registry import PluginRegistry

    from floe_cli._logging import configure_logging
    from floe_cli._telemetry import configure_tracing

    configure_logging()
    configure_tracing()
    artifacts = compile_spec(config_file)
    ref = artifacts.plugins.ingestion
    name = ref.type if ref else "dlt"
    try:
        plugin = PluginRegistry().get(PluginType.INGESTION, name)
    except PluginNotFoundError as exc:
        raise FloeConfigError(
            f"{exc}: pip install floe-ingestion-{name}", path=str(config_file)
        ) from None
    if not isinstance(plugin, ProjectIngestionType):
        raise FloeConfigError(
            f"ingestion plugin {name!r} cannot be configured from floe.yaml", path=str(config_file)
        )
    plugin.configure(artifacts)
    try:
        plugin.startup()
    except ImportError as exc:
        raise FloeConfigError(str(exc), path=str(config_file)) from None
    except FloeConfigError as exc:
        line = load_yaml(config_file).line_of(exc.loc) if exc.loc else None
        raise FloeConfigError(str(exc), path=str(config_file), line=line) from None
    return artifacts, plugin
