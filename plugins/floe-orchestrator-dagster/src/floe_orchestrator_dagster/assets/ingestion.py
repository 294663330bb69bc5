"""Ingestion assets: one multi-asset per floe source, one asset per resource, specs from floe.yaml.

The specs are made from floe.yaml alone (the tables listed for ``sql_database``, the resources
for ``rest_api``, the table of a ``filesystem`` source), so loading the code location connects to
nothing. Materializing calls the load engine, the same one ``floe ingest run`` calls.
"""

# No ``from __future__ import annotations``: Dagster reads the resource parameters' annotations
# of the asset function at definition time.

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    AutomationCondition,
    BackfillPolicy,
    DailyPartitionsDefinition,
    FreshnessPolicy,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    ResourceParam,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
    multi_asset,
)
from floe_core.artifacts import CompiledArtifacts
from floe_core.spec import SourceSpec
from floe_ingestion_dlt.config import pipeline_name
from floe_ingestion_dlt.errors import PipelineConfigurationError
from floe_ingestion_dlt.plugin import DltIngestionPlugin

from floe_orchestrator_dagster.assets._materialize import materialize
from floe_orchestrator_dagster.assets.checks import declared_checks

__all__ = [
    "ASSET_KEY_PREFIX",
    "FloeIngestionTranslator",
    "create_ingestion_assets",
    "destination_table",
    "partitions_def",
]

#: First part of every ingestion asset key: ``["ingestion", source, resource]``.
ASSET_KEY_PREFIX = "ingestion"
_KINDS = {"dlt", "iceberg"}


def destination_table(source: SourceSpec, table_name: str) -> str:
    """The ``namespace.table`` a resource of ``source`` lands in (dlt's naming applied)."""
    from floe_ingestion_dlt._dlt_adapter import naming

    names = naming()
    if source.destination.table:
        namespace, table = source.destination.table.split(".", 1)
        return f"{namespace}.{names.normalize_table_identifier(table)}"
    table = names.normalize_table_identifier(table_name)
    return f"{source.destination.namespace_name}.{table}"


@dataclass(frozen=True)
class FloeIngestionTranslator:
    """Asset specs of one floe source: key ``["ingestion", source, resource]``, group = source."""

    source: SourceSpec

    def get_asset_spec(self, resource: str, table_name: str | None = None) -> AssetSpec:
        """The asset of ``resource``, landing in ``table_name`` (default: the resource's name)."""
        target = destination_table(self.source, table_name or resource)
        schedule = self.source.schedule
        return AssetSpec(
            key=AssetKey([ASSET_KEY_PREFIX, self.source.name, resource]),
            group_name=self.source.name,
            kinds=_KINDS,
            description=f"{self.source.type} source {self.source.name!r}, resource "
            f"{resource!r}, loaded with dlt into the Iceberg table {target}",
            metadata={
                "source_type": self.source.type,
                "destination_table": target,
                "write_mode": self.source.destination.write_mode,
                "dagster/table_name": target,
                **({"floe/schedule": schedule} if schedule else {}),
            },
            automation_condition=_automation(self.source),
            freshness_policy=_freshness(schedule) if schedule else None,
        )


def _automation(source: SourceSpec) -> AutomationCondition[Any] | None:
    if source.automation == "eager":
        return AutomationCondition.eager()
    if source.automation == "on_cron" and source.schedule:
        return AutomationCondition.on_cron(source.schedule, cron_timezone="UTC")
    return None


def _freshness(schedule: str) -> FreshnessPolicy:
    """Fresh when a run landed within one interval of the schedule (its shortest) before each
    tick."""
    from croniter import croniter

    ticks = croniter(schedule, datetime(2024, 1, 1))
    moments = [ticks.get_next(datetime) for _ in range(60)]  # over a year for monthly crons
    shortest = min(b - a for a, b in itertools.pairwise(moments))
    return FreshnessPolicy.cron(deadline_cron=schedule, lower_bound_delta=shortest, timezone="UTC")


def partitions_def(source: SourceSpec) -> TimeWindowPartitionsDefinition | None:
    """The Dagster time-window partitions of a source with ``partitions:`` (UTC)."""
    if source.partitions is None:
        return None
    start = source.partitions.start
    if not isinstance(start, datetime):
        start = datetime(start.year, start.month, start.day)
    every = source.partitions.every
    if every == "hour":
        return HourlyPartitionsDefinition(start_date=start, timezone="UTC")
    if every == "week":
        return WeeklyPartitionsDefinition(start_date=start, timezone="UTC")
    if every == "month":
        return MonthlyPartitionsDefinition(start_date=start, timezone="UTC")
    return DailyPartitionsDefinition(start_date=start, timezone="UTC")


def _source_assets(source: SourceSpec, plugin: DltIngestionPlugin) -> AssetsDefinition:
    """The assets of one source; its resources come from floe.yaml, nothing is connected to."""
    names = plugin.engine.resource_names(source)
    if names is None:
        raise PipelineConfigurationError(
            f"source {source.name!r} ({source.type}): its resources can only be known by "
            "connecting to the source; list them in its config (for sql_database: "
            "config.tables) so Dagster can show its assets",
            source_type=source.type,
            destination_table=source.destination.target,
            pipeline_name=pipeline_name(source),
        )
    translator = FloeIngestionTranslator(source)
    specs = [translator.get_asset_spec(name) for name in names]
    resources = {spec.key: name for spec, name in zip(specs, names, strict=True)}
    checks = declared_checks(
        source, {key: destination_table(source, name) for key, name in resources.items()}
    )

    @multi_asset(
        specs=specs,
        check_specs=[check.spec for check in checks],
        name=f"{source.name}_ingestion",
        can_subset=True,
        op_tags={"floe/source": source.name, "floe/source_type": source.type},
        # every run of the source's assets (jobs, backfills, automation, the UI) is in this
        # pool: limit it to 1 for a source without partitions (its pipeline lock is per machine)
        pool=f"floe_{source.name}",
        partitions_def=partitions_def(source),
        # a backfill runs each window as its own run: windows load in parallel, one commit each
        backfill_policy=BackfillPolicy.multi_run(1) if source.partitions else None,
    )
    def _assets(
        context: AssetExecutionContext, floe_ingestion: ResourceParam[DltIngestionPlugin]
    ) -> Iterator[Any]:
        yield from materialize(context, floe_ingestion, source.name, resources, checks)

    return _assets


def create_ingestion_assets(
    artifacts: CompiledArtifacts, dlt_plugin: DltIngestionPlugin
) -> list[AssetsDefinition]:
    """One multi-asset per source of ``artifacts`` (none without sources).

    ``dlt_plugin`` is configured from the same project.

    Raises:
        PipelineConfigurationError: a source's config is invalid, its source type is missing,
            or its resources can only be known by connecting to it.
        KeyError: ``dlt_plugin`` was configured from another project and lacks a source.
    """
    return [
        _source_assets(dlt_plugin.config.source(spec.name), dlt_plugin)
        for spec in artifacts.spec.ingestion.sources
    ]
