"""``DltIngestionPlugin``: floe's ingestion plugin, a thin entry point onto the load engine."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from floe_core.artifacts import CompiledArtifacts
from floe_core.health import HealthStatus, probe_within, unhealthy
from floe_core.ingestion import IngestionConfig, IngestionPlugin, IngestionResult
from floe_core.spec import DestinationSpec, SourceSpec
from pydantic import BaseModel

from floe_ingestion_dlt.config import DltIngestionConfig
from floe_ingestion_dlt.engine import LoadEngine, LoadOutcome
from floe_ingestion_dlt.errors import SourceNotInstalledError
from floe_ingestion_dlt.loading import DltPipeline
from floe_ingestion_dlt.observability import get_logger, span
from floe_ingestion_dlt.plugins import get_destination_type, get_source_type, source_types
from floe_ingestion_dlt.types import (
    DestinationSettings,
    MaintenanceReport,
    SourceContext,
    TableStats,
)

__all__ = ["DltIngestionPlugin", "as_result"]

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


class DltIngestionPlugin(IngestionPlugin):
    """Runs each configured source as its own dlt pipeline into Iceberg tables."""

    def __init__(self, config: DltIngestionConfig | None = None) -> None:
        self.config = config or DltIngestionConfig()
        self._started = False

    def configure(self, artifacts: CompiledArtifacts) -> None:
        """Adopt the sources, catalog, storage and retry settings of a compiled project."""
        self.config = DltIngestionConfig.from_spec(artifacts.spec, artifacts.project_dir)

    @property
    def sources(self) -> list[SourceSpec]:
        """The configured project's sources, in floe.yaml's order."""
        return self.config.sources

    @property
    def engine(self) -> LoadEngine:
        """The load engine of the configured project: what the CLI and Dagster call."""
        return LoadEngine(self.config)

    @property
    def name(self) -> str:
        return "dlt"

    @property
    def version(self) -> str:
        return "0.1.0"

    @property
    def floe_api_version(self) -> str:
        return "1.0"

    @property
    def description(self) -> str:
        return "Loads sources with dlt into Apache Iceberg tables through an Iceberg catalog"

    @property
    def is_external(self) -> bool:
        return False

    def get_config_schema(self) -> type[BaseModel]:
        return DltIngestionConfig

    @property
    def settings(self) -> DestinationSettings:
        return self.engine.settings

    def list_available_sources(self) -> list[str]:
        return sorted(source_types())

    def validate_source(self, source: SourceSpec) -> BaseModel:
        """The source's config block, validated by its own plugin's model."""
        return self.engine.validate(source)

    def startup(self) -> None:
        """Check dlt, the destination and every configured source type and config.

        Raises:
            ImportError: a source type or what its config needs is not installed.
            PipelineConfigurationError: a source's config block is invalid (one line naming the
                field; it is a ``FloeConfigError`` too).
        """
        with span("startup", source_count=len(self.config.sources)):
            import dlt  # noqa: F401

            get_destination_type().check_imports()
            for source in self.config.sources:
                try:
                    source_type = get_source_type(source.type)
                except SourceNotInstalledError as exc:
                    raise ImportError(str(exc)) from exc
                source_type.check_imports(self.validate_source(source))
            self._started = True
            get_logger().info("plugin_started", plugin=self.name, sources=len(self.config.sources))

    def shutdown(self) -> None:
        self._started = False

    def _probe(self, timeout: float) -> HealthStatus:
        return get_destination_type().health_check(self.settings, timeout)

    def get_destination_config(self, catalog_config: dict[str, Any]) -> dict[str, Any]:
        """pyiceberg and dlt settings for ``catalog_config`` (a ``catalog:`` block)."""
        from floe_core.spec import CatalogSpec

        with span("get_destination_config", catalog_type=str(catalog_config.get("type", "sql"))):
            settings = DestinationSettings(
                catalog=CatalogSpec.model_validate(catalog_config),
                storage=self.config.storage_config,
                project_dir=self.config.project_dir,
            )
            return get_destination_type().destination_config(settings)

    @staticmethod
    def _as_source(config: IngestionConfig) -> SourceSpec:
        """The platform's abstract ``IngestionConfig`` as a floe.yaml source."""
        target = config.destination_table or "bronze"
        name = target.replace(".", "_").lower()
        primary_key = config.source_config.get("primary_key") or None
        return SourceSpec.model_validate(
            {
                "name": name if name[:1].isalpha() else f"s_{name}",
                "type": config.source_type,
                "config": config.source_config,
                "destination": DestinationSpec.model_validate(
                    {
                        "table" if "." in target else "namespace": target,
                        "write_mode": config.write_mode,
                        "schema_contract": config.schema_contract,
                        "primary_key": primary_key,
                    }
                ),
            }
        )

    def create_pipeline(self, config: IngestionConfig | SourceSpec) -> DltPipeline:
        """Build the dlt pipeline of one source (for inspection; :meth:`run` loads it).

        Raises:
            pydantic.ValidationError: empty source type, unknown write mode or contract.
            PipelineConfigurationError: the source's own config block is invalid.
        """
        source = config if isinstance(config, SourceSpec) else self._as_source(config)
        return self.engine.pipeline(source)

    def run(self, pipeline: DltPipeline, **kwargs: Any) -> IngestionResult:
        """Load the source of ``pipeline`` through the engine."""
        return as_result(self.load(pipeline.source))

    def load(self, source: str | SourceSpec, **options: Any) -> LoadOutcome:
        """:meth:`LoadEngine.load` on the configured project."""
        return self.engine.load(source, **options)

    def check_source(self, source: SourceSpec, timeout: float = 5.0) -> HealthStatus:
        """Can ``source`` be reached? Never raises."""
        try:
            source_type = get_source_type(source.type)
            config = self.validate_source(source)
            context = SourceContext(
                source_name=source.name,
                project_dir=self.config.project_dir,
                storage=self.config.storage_config,
            )
            return source_type.health_check(config, context, timeout)
        except Exception as exc:
            return unhealthy(exc)

    def check_storage(self, timeout: float = 5.0) -> HealthStatus | None:
        """Can the object storage be reached (``None``: nothing to check)? Never raises."""
        return probe_within(
            lambda: get_destination_type().storage_health(self.settings, timeout),
            timeout,
            silent=f"s3 did not answer within {timeout:g}s",
            name="health-storage",
        )

    def list_tables(self) -> list[str]:
        return get_destination_type().list_tables(self.settings)

    def read_table(self, name: str, limit: int | None = None) -> Any:
        """``namespace.table`` as a ``pyarrow.Table``."""
        return get_destination_type().read_table(self.settings, name, limit)

    def table_history(self, name: str) -> list[dict[str, Any]]:
        return get_destination_type().table_history(self.settings, name)

    def maintain(
        self, tables: Sequence[str] | None = None, *, dry_run: bool = False
    ) -> list[MaintenanceReport]:
        """:meth:`LoadEngine.maintain` on the configured project."""
        return self.engine.maintain(tables, dry_run=dry_run)

    def table_stats(self, name: str) -> TableStats:
        return self.engine.table_stats(name)


def as_result(outcome: LoadOutcome) -> IngestionResult:
    """An engine outcome as the platform's :class:`IngestionResult`."""
    return IngestionResult(
        success=outcome.ok,
        rows_loaded=outcome.rows_loaded,
        bytes_written=outcome.bytes_written,
        duration_seconds=outcome.duration_seconds,
        errors=[str(outcome.error)] if outcome.error is not None else [],
    )
