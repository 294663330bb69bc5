"""``DagsterOrchestratorPlugin``: a floe project as Dagster definitions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from floe_core.plugin_metadata import PluginMetadata

if TYPE_CHECKING:
    from dagster import Definitions
    from floe_core.artifacts import CompiledArtifacts

__all__ = [
    "DagsterOrchestratorPlugin",
    "job_name",
    "maintenance_schedule_name",
    "schedule_name",
]


def job_name(source: str) -> str:
    """The job that materializes every asset of ``source``."""
    return f"ingest_{source}"


def schedule_name(source: str) -> str:
    return f"ingest_{source}_schedule"


def maintenance_schedule_name(source: str) -> str:
    return f"maintain_{source}_schedule"


def _fixed(cron: str, field: int) -> int | None:
    """A cron field given as a plain number (minute, hour, day of month, -, weekday): a
    partitioned job's schedule ticks once a window, at the cron's fixed minute, hour, days."""
    value = cron.split()[field]
    return int(value) if value.isdigit() else None


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
            "optional schedule per source, loads run by floe's engine, a table maintenance "
            "job per source on its maintenance schedule"
        )

    def create_definitions(self, artifacts: CompiledArtifacts) -> Definitions:
        """Resources, assets, a job per source and a schedule per source with ``schedule:``;
        a maintenance job per source, scheduled on its ``maintenance.schedule`` when set.

        A project without ingestion (no plugin, or no sources) gives empty definitions.

        Raises:
            FloeConfigError, PluginError, PipelineConfigurationError: the ingestion configured
                cannot be loaded; never hidden.
        """
        from dagster import (
            AssetKey,
            AssetSelection,
            DefaultScheduleStatus,
            Definitions,
            ScheduleDefinition,
            build_schedule_from_partitioned_job,
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
        from floe_orchestrator_dagster.maintenance import create_maintenance_job

        assets = create_ingestion_assets(artifacts, resources[INGESTION_RESOURCE_KEY])
        tables: dict[str, dict[AssetKey, str]] = {source.name: {} for source in sources}
        for asset in assets:
            for spec in asset.specs:
                if spec.group_name in tables:
                    tables[spec.group_name][spec.key] = str(spec.metadata["destination_table"])
        maintenance = {
            source.name: create_maintenance_job(source, tables[source.name]) for source in sources
        }
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
            # a partitioned source's tick asks for the window that just ended, never a load
            # without one (it would read every row and append it again)
            build_schedule_from_partitioned_job(
                jobs[source.name],
                name=schedule_name(source.name),
                default_status=DefaultScheduleStatus.RUNNING,
                description=f"floe.yaml schedule of source {source.name!r}, one window a tick",
                minute_of_hour=_fixed(source.schedule, 0),
                hour_of_day=_fixed(source.schedule, 1),
                day_of_month=_fixed(source.schedule, 2),
                day_of_week=_fixed(source.schedule, 4),
            )
            if source.partitions is not None
            else ScheduleDefinition(
                name=schedule_name(source.name),
                cron_schedule=source.schedule,
                job=jobs[source.name],
                default_status=DefaultScheduleStatus.RUNNING,
                description=f"floe.yaml schedule of source {source.name!r}",
            )
            for source in sources
            if source.schedule
        ]
        for source in sources:
            cron = artifacts.spec.maintenance_of(source.name).schedule
            if cron:
                schedules.append(
                    ScheduleDefinition(
                        name=maintenance_schedule_name(source.name),
                        cron_schedule=cron,
                        job=maintenance[source.name],
                        default_status=DefaultScheduleStatus.RUNNING,
                        description=f"floe.yaml maintenance schedule of source {source.name!r}",
                    )
                )
        return Definitions(
            assets=assets,
            jobs=[*jobs.values(), *maintenance.values()],
            schedules=schedules,
            resources=resources,
        )
