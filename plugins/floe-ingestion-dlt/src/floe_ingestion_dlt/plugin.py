"""``DltIngestionPlugin``: floe's ingestion plugin, loading sources with dlt into Iceberg."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floe_core.artifacts import CompiledArtifacts
from floe_core.compiler import reveal
from floe_core.health import HealthStatus, probe_within, unhealthy
from floe_core.ingestion import IngestionConfig, IngestionPlugin, IngestionResult
from pydantic import BaseModel, ValidationError

from floe_ingestion_dlt.config import DltIngestionConfig, IngestionSourceConfig
from floe_ingestion_dlt.errors import (
    PipelineConfigurationError,
    SourceNotInstalledError,
    categorize_error,
)
from floe_ingestion_dlt.loading import DltPipeline, build_pipeline, run_pipeline
from floe_ingestion_dlt.observability import get_logger, span
from floe_ingestion_dlt.plugins import get_destination_type, get_source_type, source_types
from floe_ingestion_dlt.types import DestinationSettings, SourceContext

__all__ = ["DltIngestionPlugin", "SourceRun"]

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


@dataclass(frozen=True)
class SourceRun:
    """The result of one source's load, with what the CLI and orchestrator display."""

    source: IngestionSourceConfig
    result: IngestionResult
    tables: dict[str, int]
    error_category: str | None = None


class DltIngestionPlugin(IngestionPlugin):
    """Runs each configured source as its own dlt pipeline into Iceberg tables."""

    def __init__(self, config: DltIngestionConfig | None = None) -> None:
        self.config = config or DltIngestionConfig()
        self.progress: str | None = None
        self._started = False

    def configure(self, artifacts: CompiledArtifacts) -> None:
        """Adopt the sources, catalog, storage and retry settings of a compiled project."""
        self.config = DltIngestionConfig.from_spec(artifacts.spec, artifacts.project_dir)

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
        return DestinationSettings(
            catalog=self.config.catalog_config,
            storage=self.config.storage_config,
            project_dir=self.config.project_dir,
        )

    def list_available_sources(self) -> list[str]:
        return sorted(source_types())

    def validate_source(self, source: IngestionSourceConfig) -> BaseModel:
        """The source's config block, validated by its own plugin's model."""
        source_type = get_source_type(source.source_type)
        try:
            return source_type.config_model.model_validate(reveal(source.source_config))
        except ValidationError as exc:
            item = exc.errors(include_url=False, include_input=False)[0]
            field = ".".join(str(p) for p in item["loc"]) or "config"
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown key"
            raise PipelineConfigurationError(
                f"source {source.name!r} ({source.source_type}): config.{field}: {message}",
                source_type=source.source_type,
                destination_table=source.target,
                pipeline_name=source.pipeline_name,
            ) from None

    def startup(self) -> None:
        """Check dlt, the destination and every configured source type and config."""
        with span("startup", source_count=len(self.config.sources)):
            import dlt  # noqa: F401

            get_destination_type().check_imports()
            for source in self.config.sources:
                try:
                    source_type = get_source_type(source.source_type)
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

    def _as_source_config(self, config: IngestionConfig) -> IngestionSourceConfig:
        target = config.destination_table or "bronze"
        name = target.replace(".", "_").lower()
        return IngestionSourceConfig(
            name=name if name[:1].isalpha() else f"s_{name}",
            source_type=config.source_type,
            source_config=config.source_config,
            destination_table=target if "." in target else None,
            destination_namespace=None if "." in target else target,
            write_mode=config.write_mode,
            schema_contract=config.schema_contract,
            primary_key=list(config.source_config.get("primary_key") or []),
        )

    def create_pipeline(self, config: IngestionConfig | IngestionSourceConfig) -> DltPipeline:
        """Build the dlt pipeline of one source.

        Raises:
            pydantic.ValidationError: empty source type, unknown write mode or contract.
            PipelineConfigurationError: the source's own config block is invalid.
        """
        source = (
            config
            if isinstance(config, IngestionSourceConfig)
            else (self._as_source_config(config))
        )
        with span(
            "create_pipeline",
            source_type=source.source_type,
            destination_table=source.target,
            write_mode=source.write_mode,
        ):
            source_config = self.validate_source(source)
            pipelines_dir = Path(
                self.config.pipelines_dir or Path(self.config.project_dir) / ".floe" / "pipelines"
            )
            return build_pipeline(
                source,
                source_config,
                get_source_type(source.source_type),
                get_destination_type(),
                self.settings,
                pipelines_dir,
                progress=self.progress,
            )

    def run(self, pipeline: DltPipeline, **kwargs: Any) -> IngestionResult:
        """Load one source; transient failures are retried per the retry config."""
        return self.run_source(pipeline).result

    def run_source(self, pipeline: DltPipeline) -> SourceRun:
        source = pipeline.source
        log = get_logger().bind(pipeline_id=source.pipeline_name, source_type=source.source_type)
        log.info("pipeline_started", source=source.name, status="running")
        started = time.perf_counter()
        with span(
            "run",
            source_type=source.source_type,
            destination_table=source.target,
            write_mode=source.write_mode,
        ) as current:
            try:
                outcome = run_pipeline(pipeline, self.config.retry_config)
            except Exception as exc:
                duration = time.perf_counter() - started
                category = categorize_error(exc)
                log.error(
                    "pipeline_failed",
                    status="failed",
                    error_type=type(exc).__name__,
                    error_category=category.value,
                    duration_seconds=round(duration, 3),
                )
                current.set_attribute("ingestion.duration_seconds", duration)
                raise
            duration = time.perf_counter() - started
            current.set_attribute("ingestion.rows_loaded", outcome.rows_loaded)
            current.set_attribute("ingestion.bytes_written", outcome.bytes_written)
            current.set_attribute("ingestion.duration_seconds", duration)
        log.info(
            "pipeline_completed",
            status="success",
            rows_loaded=outcome.rows_loaded,
            bytes_written=outcome.bytes_written,
            duration_seconds=round(duration, 3),
        )
        result = IngestionResult(
            success=True,
            rows_loaded=outcome.rows_loaded,
            bytes_written=outcome.bytes_written,
            duration_seconds=duration,
        )
        return SourceRun(source=source, result=result, tables=outcome.tables)

    def check_source(self, source: IngestionSourceConfig, timeout: float = 5.0) -> HealthStatus:
        """Can ``source`` be reached? Never raises."""
        try:
            source_type = get_source_type(source.source_type)
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
