"""Configuration models of the dlt ingestion plugin."""

from __future__ import annotations

from typing import Any, Literal, Self

from floe_core.spec import CatalogSpec, FloeSpec, StorageSpec
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DltIngestionConfig",
    "IngestionSourceConfig",
    "MergeStrategy",
    "RetryConfig",
    "SchemaContract",
    "WriteMode",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

WriteMode = Literal["append", "replace", "merge"]
MergeStrategy = Literal["upsert", "delete-insert"]
SchemaContract = Literal["evolve", "freeze", "discard_value"]


class RetryConfig(BaseModel):
    """Retries of transient failures: exponential backoff starting at ``initial_delay_seconds``."""

    model_config = _FROZEN

    max_retries: int = Field(default=3, ge=0, le=20)
    initial_delay_seconds: float = Field(default=1.0, ge=0.0, le=300.0)
    max_delay_seconds: float = Field(default=60.0, gt=0.0)


class IngestionSourceConfig(BaseModel):
    """One source as the plugin runs it."""

    model_config = _FROZEN

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source_type: str = Field(min_length=1)
    source_config: dict[str, Any] = Field(default_factory=dict)
    destination_table: str | None = None
    destination_namespace: str | None = None
    write_mode: WriteMode = "append"
    merge_strategy: MergeStrategy = "upsert"
    primary_key: list[str] = Field(default_factory=list)
    schema_contract: SchemaContract = "evolve"
    cursor_field: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if bool(self.destination_table) == bool(self.destination_namespace):
            raise ValueError("give exactly one of destination_table and destination_namespace")
        if self.destination_table and self.destination_table.count(".") != 1:
            raise ValueError("destination_table must be 'namespace.table'")
        if self.write_mode == "merge" and not self.primary_key:
            raise ValueError("write_mode 'merge' needs a primary_key")
        return self

    @property
    def namespace(self) -> str:
        if self.destination_table:
            return self.destination_table.split(".", 1)[0]
        assert self.destination_namespace is not None
        return self.destination_namespace

    @property
    def table_name(self) -> str | None:
        """The single table all rows land in, when the destination names one."""
        return self.destination_table.split(".", 1)[1] if self.destination_table else None

    @property
    def target(self) -> str:
        return self.destination_table or f"{self.destination_namespace}.*"

    @property
    def pipeline_name(self) -> str:
        """dlt pipeline name: one per source and destination, so state never mixes."""
        return f"floe__{self.name}__{self.target.replace('.*', '').replace('.', '__')}"


class DltIngestionConfig(BaseModel):
    """Everything the plugin needs: the sources, the catalog and storage, and retry policy."""

    model_config = _FROZEN

    sources: list[IngestionSourceConfig] = Field(default_factory=list)
    catalog_config: CatalogSpec = Field(default_factory=CatalogSpec)
    storage_config: StorageSpec = Field(default_factory=StorageSpec)
    retry_config: RetryConfig = Field(default_factory=RetryConfig)
    project_dir: str = "."
    pipelines_dir: str | None = None

    @classmethod
    def from_spec(cls, spec: FloeSpec, project_dir: str) -> DltIngestionConfig:
        """Build from a compiled ``floe.yaml``."""
        from floe_core.compiler import DEFAULT_STATE_DIR

        sources = []
        for source in spec.ingestion.sources:
            dest = source.destination
            sources.append(
                IngestionSourceConfig(
                    name=source.name,
                    source_type=source.type,
                    source_config=source.config,
                    destination_table=dest.table,
                    destination_namespace=dest.namespace,
                    write_mode=dest.write_mode,
                    merge_strategy=dest.merge_strategy,
                    primary_key=dest.primary_keys,
                    schema_contract=dest.schema_contract,
                    cursor_field=source.config.get("cursor_field")
                    if isinstance(source.config.get("cursor_field"), str)
                    else None,
                )
            )
        return cls(
            sources=sources,
            catalog_config=spec.catalog,
            storage_config=spec.storage,
            retry_config=RetryConfig(
                max_retries=spec.retry.max_retries,
                initial_delay_seconds=spec.retry.initial_delay_seconds,
            ),
            project_dir=project_dir,
            pipelines_dir=spec.ingestion.pipelines_dir
            or f"{project_dir}/{DEFAULT_STATE_DIR}/pipelines",
        )

    def source(self, name: str) -> IngestionSourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)
