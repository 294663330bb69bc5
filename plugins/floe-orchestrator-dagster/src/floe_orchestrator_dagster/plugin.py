"""``DagsterOrchestratorPlugin``: a floe project as Dagster definitions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from floe_core.plugin_metadata import PluginMetadata

if TYPE_CHECKING:
    from dagster import Definitions, RetryPolicy
    from floe_core.artifacts import CompiledArtifacts
    from floe_core.spec import RetrySpec

__all__ = ["DagsterOrchestratorPlugin", "job_name", "retry_policy", "schedule_name"]


def job_name(source: str) -> str:
    """The job that materializes every asset of ``source``."""
    return f"ingest_{source}"


def schedule_name(source: str) -> str:
    return f"ingest_{source}_schedule"


def retry_policy(retry: RetrySpec) -> RetryPolicy:
    """``retry:`` as a Dagster policy: exponential backoff from ``initial_delay_seconds``.

    The assets let only TRANSIENT failures respect it; others fail at once.
    """
    from dagster import Backoff, RetryPolicy

    return RetryPolicy(
        max_retries=retry.max_retries,
        delay=retry.initial_delay_seconds,
        backoff=Backoff.EXPONENTIAL,
    )


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
            "optional schedule per source, retries of transient failures"
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
        policy = retry_policy(artifacts.spec.retry)
        jobs = {
            source.name: define_asset_job(
                job_name(source.name),
                selection=AssetSelection.groups(source.name),
                op_retry_policy=policy,
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
