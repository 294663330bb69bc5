"""The compiled form of ``floe.yaml`` that every runtime (CLI, Dagster) consumes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from floe_core.plugin_types import FLOE_API_VERSION
from floe_core.spec import FloeSpec

__all__ = ["ARTIFACTS_VERSION", "CompiledArtifacts", "PluginRef", "ResolvedPlugins"]

ARTIFACTS_VERSION = "1"

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class PluginRef(BaseModel):
    """Which plugin of a type to use, and its configuration."""

    model_config = _FROZEN

    type: str = Field(description="the plugin's registered name, e.g. 'dlt'")
    version: str | None = Field(default=None, description="version constraint, if any")
    config: dict[str, Any] = Field(default_factory=dict)


class ResolvedPlugins(BaseModel):
    """The plugin chosen for each type; a type the project does not use stays ``None``."""

    model_config = _FROZEN

    ingestion: PluginRef | None = None
    orchestrator: PluginRef | None = None
    catalog: PluginRef | None = None
    storage: PluginRef | None = None
    compute: PluginRef | None = None
    dbt: PluginRef | None = None
    semantic_layer: PluginRef | None = None
    lineage_backend: PluginRef | None = None
    telemetry_backend: PluginRef | None = None
    secrets: PluginRef | None = None
    identity: PluginRef | None = None


class CompiledArtifacts(BaseModel):
    """A validated, fully resolved project. Secret values are masked when serialized."""

    model_config = _FROZEN

    artifacts_version: str = ARTIFACTS_VERSION
    floe_api_version: str = FLOE_API_VERSION
    source_path: str = Field(description="absolute path of the floe.yaml this was compiled from")
    project_dir: str = Field(description="folder relative paths were resolved against")
    spec: FloeSpec
    plugins: ResolvedPlugins
