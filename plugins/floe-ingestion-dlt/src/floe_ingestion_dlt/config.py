"""What the dlt plugin runs: the compiled floe.yaml models, and the names dlt needs of a source.

A source is floe-core's :class:`~floe_core.spec.SourceSpec`, as compiled from floe.yaml; the
write modes, merge strategies and schema contracts are floe-core's literals. Nothing here copies
their fields.
"""

from __future__ import annotations

from floe_core.spec import (
    CatalogSpec,
    FloeSpec,
    MaintenanceSpec,
    MergeStrategy,
    RetrySpec,
    SchemaContract,
    SourceSpec,
    StorageSpec,
    WriteMode,
)
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DltIngestionConfig",
    "MergeStrategy",
    "RetrySpec",
    "SchemaContract",
    "SourceSpec",
    "WriteMode",
    "cursor_field",
    "pipeline_name",
    "table_name",
]


def pipeline_name(source: SourceSpec) -> str:
    """The dlt pipeline of ``source``: one per source and destination, so state never mixes."""
    target = source.destination.target.replace(".*", "").replace(".", "__")
    return f"floe__{source.name}__{target}"


def table_name(source: SourceSpec) -> str | None:
    """The single table every row of ``source`` lands in, when its destination names one."""
    table = source.destination.table
    return table.split(".", 1)[1] if table else None


def cursor_field(source: SourceSpec) -> str | None:
    """The incremental cursor column a source's config names, if any."""
    value = source.config.get("cursor_field")
    return value if isinstance(value, str) else None


class DltIngestionConfig(BaseModel):
    """Everything the plugin needs: the sources, the catalog and storage, and retry policy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: list[SourceSpec] = Field(default_factory=list)
    catalog_config: CatalogSpec = Field(default_factory=CatalogSpec)
    storage_config: StorageSpec = Field(default_factory=StorageSpec)
    retry_config: RetrySpec = Field(default_factory=RetrySpec)
    maintenance_config: MaintenanceSpec = Field(default_factory=MaintenanceSpec)
    project_dir: str = "."
    pipelines_dir: str | None = None

    @classmethod
    def from_spec(cls, spec: FloeSpec, project_dir: str) -> DltIngestionConfig:
        """Build from a compiled ``floe.yaml``."""
        from floe_core.compiler import DEFAULT_STATE_DIR

        return cls(
            sources=list(spec.ingestion.sources),
            catalog_config=spec.catalog,
            storage_config=spec.storage,
            retry_config=spec.retry,
            maintenance_config=spec.maintenance,
            project_dir=project_dir,
            pipelines_dir=spec.ingestion.pipelines_dir
            or f"{project_dir}/{DEFAULT_STATE_DIR}/pipelines",
        )

    def source(self, name: str) -> SourceSpec:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def maintenance_of(self, source: SourceSpec | None) -> MaintenanceSpec:
        """The maintenance policy of ``source``'s tables (the project's without a source)."""
        if source is None:
            return self.maintenance_config
        return self.maintenance_config.overridden_by(source.maintenance)
