"""The Dagster resource of ingestion: the configured floe ingestion plugin (its engine loads)."""

from __future__ import annotations

from typing import Any

from floe_core.artifacts import CompiledArtifacts, PluginRef, ResolvedPlugins
from floe_core.errors import FloeConfigError, PluginLoadError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "INGESTION_RESOURCE_KEY",
    "IngestionRefConfig",
    "create_ingestion_resources",
    "ingestion_ref",
    "try_create_ingestion_resources",
]

#: Resource key of the configured, started ``DltIngestionPlugin``.
INGESTION_RESOURCE_KEY = "floe_ingestion"


class IngestionRefConfig(BaseModel):
    """What ``PluginRef.config`` of the ingestion plugin holds for the orchestrator.

    Only the path: the project is compiled where the assets run, so secrets are read from that
    environment and never travel inside the reference.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_path: str = Field(min_length=1, description="the floe.yaml to configure the plugin from")


def ingestion_ref(artifacts: CompiledArtifacts) -> PluginRef | None:
    """The project's ingestion reference, its config pointing at the project's floe.yaml."""
    ref = artifacts.plugins.ingestion
    if ref is None:
        return None
    config = {"source_path": artifacts.source_path, **ref.config}
    return ref.model_copy(update={"config": config})


def _load_plugin(ingestion_ref: PluginRef) -> Any:
    from floe_core.plugin_types import PluginType
    from floe_core.registry import PluginRegistry
    from floe_ingestion_dlt.plugin import DltIngestionPlugin

    plugin = PluginRegistry().get(PluginType.INGESTION, ingestion_ref.type)
    if not isinstance(plugin, DltIngestionPlugin):
        raise PluginLoadError(
            f"ingestion plugin {ingestion_ref.type!r} ({type(plugin).__name__}) cannot run as "
            "Dagster assets: the Dagster orchestrator runs the dlt ingestion plugin ('dlt')"
        )
    return plugin


def create_ingestion_resources(ingestion_ref: PluginRef) -> dict[str, Any]:
    """``{"floe_ingestion": plugin}``, the plugin configured and started.

    Raises:
        FloeConfigError: ``PluginRef.config`` lacks ``source_path``, or the floe.yaml it names
            is invalid or asks for a source type that is not installed.
        PluginError: the ingestion plugin is not installed or cannot load.
    """
    from floe_core.compiler import compile_spec

    try:
        config = IngestionRefConfig.model_validate(ingestion_ref.config)
    except ValidationError as exc:
        item = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in item["loc"]) or "config"
        raise FloeConfigError(
            f"ingestion plugin reference {ingestion_ref.type!r}: config.{field}: {item['msg']} "
            "(the orchestrator needs {'source_path': '<path of floe.yaml>'})"
        ) from None
    artifacts = compile_spec(config.source_path)
    plugin = _load_plugin(ingestion_ref)
    plugin.configure(artifacts)
    try:
        plugin.startup()
    except ImportError as exc:
        raise FloeConfigError(str(exc), path=config.source_path) from None
    return {INGESTION_RESOURCE_KEY: plugin}


def try_create_ingestion_resources(plugins: ResolvedPlugins | None) -> dict[str, Any]:
    """:func:`create_ingestion_resources`, or ``{}`` when the project has no ingestion plugin.

    Failures of a configured plugin are raised, never hidden.
    """
    if plugins is None or plugins.ingestion is None:
        return {}
    return create_ingestion_resources(plugins.ingestion)
