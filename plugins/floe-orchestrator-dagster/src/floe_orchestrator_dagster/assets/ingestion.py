"""Ingestion assets: one ``@dlt_assets`` definition per floe source, one asset per dlt resource."""

# No ``from __future__ import annotations``: Dagster reads the resource parameters' annotations
# of the asset function at definition time.

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, AssetSpec, ResourceParam
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from floe_core.artifacts import CompiledArtifacts
from floe_ingestion_dlt.config import IngestionSourceConfig
from floe_ingestion_dlt.plugin import DltIngestionPlugin

from floe_orchestrator_dagster.assets._materialize import materialize, wrap_source

__all__ = [
    "ASSET_KEY_PREFIX",
    "FloeIngestionTranslator",
    "create_ingestion_assets",
    "destination_table",
]

#: First part of every ingestion asset key: ``["ingestion", source, resource]``.
ASSET_KEY_PREFIX = "ingestion"
_KINDS = {"dlt", "iceberg"}


def destination_table(source: IngestionSourceConfig, table_name: str) -> str:
    """The ``namespace.table`` a resource of ``source`` lands in."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    if source.destination_table:
        return source.destination_table
    return f"{source.namespace}.{NamingConvention().normalize_table_identifier(table_name)}"


@dataclass
class FloeIngestionTranslator(DagsterDltTranslator):
    """Asset specs of one floe source: key ``["ingestion", source, resource]``, group = source."""

    source: IngestionSourceConfig

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        resource = data.resource
        table = resource.table_name if isinstance(resource.table_name, str) else resource.name
        target = destination_table(self.source, table)
        return AssetSpec(
            key=AssetKey([ASSET_KEY_PREFIX, self.source.name, resource.name]),
            group_name=self.source.name,
            kinds=_KINDS,
            description=f"{self.source.source_type} source {self.source.name!r}, resource "
            f"{resource.name!r}, loaded with dlt into the Iceberg table {target}",
            metadata={
                "source_type": self.source.source_type,
                "destination_table": target,
                "write_mode": self.source.write_mode,
                "dagster/table_name": target,
            },
        )


def _source_assets(source: IngestionSourceConfig, plugin: DltIngestionPlugin) -> AssetsDefinition:
    """The assets of one source, listed from a dlt source built now; each run builds its own."""
    handle = plugin.create_pipeline(source)
    dlt_source = wrap_source(handle.source_type.build(handle.source_config, handle.context), handle)
    translator = FloeIngestionTranslator(source)

    @dlt_assets(
        dlt_source=dlt_source,
        dlt_pipeline=handle.pipeline,
        name=f"{source.name}_ingestion",
        dagster_dlt_translator=translator,
        op_tags={"floe/source": source.name, "floe/source_type": source.source_type},
    )
    def _assets(
        context: AssetExecutionContext,
        dlt: DagsterDltResource,
        floe_ingestion: ResourceParam[DltIngestionPlugin],
    ) -> Iterator[Any]:
        yield from materialize(context, dlt, floe_ingestion, source.name, translator)

    return _assets


def create_ingestion_assets(
    artifacts: CompiledArtifacts, dlt_plugin: DltIngestionPlugin
) -> list[AssetsDefinition]:
    """One multi-asset per source of ``artifacts`` (none without sources).

    ``dlt_plugin`` is configured from the same project; it lists each source's resources.

    Raises:
        PipelineConfigurationError: a source's config is invalid or its source type is missing.
        KeyError: ``dlt_plugin`` was configured from another project and lacks a source.
    """
    return [
        _source_assets(dlt_plugin.config.source(spec.name), dlt_plugin)
        for spec in artifacts.spec.ingestion.sources
    ]
