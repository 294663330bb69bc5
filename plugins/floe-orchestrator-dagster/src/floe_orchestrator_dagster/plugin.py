"""``DagsterOrchestratorPlugin``: a floe project as Dagster definitions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from floe_core.plugin_metadata import PluginMetadata

if TYPE_CHECKING:
    from dagster import Definitions
    from floe_core.artifacts import CompiledArtifacts

__all__ = ["DagsterOrchestratorPlugin", "job_name", "schedule_name"]


def job_name(source: str) -> str:
    """The job that materializes every asset of ``source``."""
    return f"ingest_{source}"


def schedule_name(source: str) -> str:
    return f"ingest_{source}_schedule"


class DagsterOrchestratorPlugin(PluginMetadata):
    """Turns a compiled project into Dagster definitions: assets, jobs, schedules, resources."""

    @property
    def name(self) -> str:
        return "dagster"

    @property
    def version(self) -> str:
        return "0.1.0"

    @property
    def floe_api_version(self) -> str:
        return "1.0"

    @property
    def description(self) -> str:
        return (
            "Dagster definitions of a floe project: one asset per dlt resource, a job and "
            "optional schedule per source, loads run by floe's engine"
        )

    def create_definitions(self, artifacts: CompiledArtifacts) -> Definitions:
        """Resources, assets, a job per source and a schedule per source with ``schedule:``.

        A project without ingestion (no plugin, or no sources) gives empty definitions.

        Raises:
            FloeConfigError, PluginError, PipelineConfigurationError: the ingestion configured
                cannot be loaded; never hidden.
        """
        from dagster import (
            AssetSelection,
            DefaultScheduleStatus,
            Definitions,
            ScheduleDefinition,
            define_asset_job,
        )

        from floe_orchestrator_dagster.resources.ingestion import (
            INGESTION_RESOURCE_KEY,
            ingestion_ref,
            try_create_ingestion_resources,
        )

        sources = artifacts.spec.ingestion.sources
        ref = ingestion_ref(artifacts)
        if ref is None or not sources:
            return Definitions()
        resources = try_create_ingestion_resources(
            artifacts.plugins.model_copy(update={"ingestion": ref})
        )
        from floe_orchestrator_dagster.assets.ingestion import create_ingestion_assets

        assets = create_ingestion_assets(artifacts, resources[INGESTION_RESOURCE_KEY])
        jobs = {
            source.name: define_asset_job(
                job_name(source.name),
                selection=AssetSelection.groups(source.name),
                description=f"Load source {source.name!r} ({source.type}) into Iceberg",
                tags={"floe/source": source.name},
            )
            for source in sources
        }
        schedules = [
            ScheduleDefinition(
                name=schedule_name(source.name),
                cron_schedule=source.schedule,
                job=jobs[source.name],
                default_status=DefaultScheduleStatus.RUNNING,
                description=f"floe.yaml schedule of source {source.name!r}",
            )
            for source in sources
            if source.schedule
        ]
        return Definitions(
            assets=assets, jobs=list(jobs.values()), schedules=schedules, resources=resources
        )
