"""floe's Dagster orchestrator: ingestion sources as Dagster assets, jobs and schedules.

Names are imported on first use, so loading the plugin's entry point does not import Dagster.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from floe_orchestrator_dagster.assets.ingestion import (
        FloeIngestionTranslator,
        create_ingestion_assets,
    )
    from floe_orchestrator_dagster.component import FloeIngestionComponent
    from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
    from floe_orchestrator_dagster.resources.ingestion import (
        create_ingestion_resources,
        try_create_ingestion_resources,
    )

__all__ = [
    "DagsterOrchestratorPlugin",
    "FloeIngestionComponent",
    "FloeIngestionTranslator",
    "create_ingestion_assets",
    "create_ingestion_resources",
    "try_create_ingestion_resources",
]

_MODULES = {
    "DagsterOrchestratorPlugin": "floe_orchestrator_dagster.plugin",
    "FloeIngestionComponent": "floe_orchestrator_dagster.component",
    "FloeIngestionTranslator": "floe_orchestrator_dagster.assets.ingestion",
    "create_ingestion_assets": "floe_orchestrator_dagster.assets.ingestion",
    "create_ingestion_resources": "floe_orchestrator_dagster.resources.ingestion",
    "try_create_ingestion_resources": "floe_orchestrator_dagster.resources.ingestion",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    # ``dg`` lists a registry module's components with dir(): show the lazy names too
    return sorted(set(globals()) | set(__all__))
