"""One source's dlt pipeline: building it, and what a failed attempt means for its packages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floe_core.layout import TableLayout
from floe_core.spec import SourceSpec
from floe_core.windows import TimeWindow
from pydantic import BaseModel

from floe_ingestion_dlt.config import cursor_field, pipeline_name, table_name
from floe_ingestion_dlt.errors import (
    AuditFailedError,
    DestinationWriteError,
    ErrorCategory,
    IngestionError,
    PipelineConfigurationError,
    SchemaContractViolation,
    SourceConnectionError,
    SourceDataError,
    categorize_error,
    root_cause,
)
from floe_ingestion_dlt.types import (
    ColumnWindow,
    DestinationSettings,
    DestinationType,
    SourceContext,
    SourceType,
)

__all__ = [
    "DltPipeline",
    "as_ingestion_error",
    "build_pipeline",
    "discard_unloadable",
    "redact",
    "secret_values",
    "source_context",
]

DltPipelineObject = Any  # dlt.Pipeline


@dataclass
class DltPipeline:
    """One source's pipeline: its spec, its builders and the dlt pipeline object."""

    source: SourceSpec
    source_config: BaseModel
    source_type: SourceType
    destination_type: DestinationType
    settings: DestinationSettings
    context: SourceContext
    pipeline: DltPipelineObject

    @property
    def name(self) -> str:
        return str(self.pipeline.pipeline_name)


def source_context(
    source: SourceSpec,
    settings: DestinationSettings,
    *,
    strict: bool = False,
    window: TimeWindow | None = None,
) -> SourceContext:
    """What ``source``'s plugin needs to know beyond its own config block."""
    destination = source.destination
    column_window = None
    if window is not None and source.partitions is not None:
        column_window = ColumnWindow(source.partitions.column, window.start, window.end)
    return SourceContext(
        source_name=source.name,
        project_dir=settings.project_dir,
        write_mode=destination.write_mode,
        merge_strategy=destination.merge_strategy,
        primary_key=destination.primary_keys,
        cursor_field=cursor_field(source),
        table_name=table_name(source),
        storage=settings.storage,
        strict=strict,
        window=column_window,
    )


def build_pipeline(
    source: SourceSpec,
    source_config: BaseModel,
    source_type: SourceType,
    destination_type: DestinationType,
    settings: DestinationSettings,
    pipelines_dir: Path,
    *,
    progress: Any = None,
    strict: bool = False,
    window: TimeWindow | None = None,
) -> DltPipeline:
    """The dlt pipeline of ``source``; ``progress`` is a dlt progress collector.

    A ``window`` run has a pipeline of its own (name suffixed by the window), so windows of one
    source load in parallel without sharing a lock or local state.
    """
    import dlt

    pipelines_dir.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"progress": progress} if progress is not None else {}
    name = pipeline_name(source)
    if window is not None:
        name += f"__w{window.digits}"
    context = source_context(source, settings, strict=strict, window=window)
    pipeline = dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(pipelines_dir),
        destination=destination_type.build(
            settings,
            lineage={
                "floe.source": source.name,
                "floe.source-type": source.type,
                "floe.pipeline": name,
            },
            window=context.window,
            layout=TableLayout.parse(source.destination.partition_by, source.destination.sort_by),
            audit=source if source.destination.publish == "audit" else None,
        ),
        dataset_name=source.destination.namespace_name,
        **options,
    )
    return DltPipeline(
        source, source_config, source_type, destination_type, settings, context, pipeline
    )


def discard_unloadable(handle: DltPipeline, category: ErrorCategory) -> None:
    """After a failure of ``category``, abort packages that can never load and restore the
    pipeline state they started from.

    Without this, a package rejected by the schema contract would block every later run, and
    an incremental cursor advanced at extract time would skip the rejected rows. A transient
    failure keeps its package for the retry; so does a partial one (a table of the package is
    committed): restoring the cursor would load that table's rows again under a new load id,
    while the pending package's rerun skips the tables its load id has committed.
    """
    if category in (ErrorCategory.TRANSIENT, ErrorCategory.PARTIAL):
        return
    pipeline = handle.pipeline
    if pipeline.has_pending_data:
        pipeline.abort_packages()


def _describe(cause: BaseException) -> str:
    """One line about the failure."""
    return f"{type(cause).__name__}: {' '.join(str(cause).split())}"


def secret_values(value: object) -> list[str]:
    """Every secret in a source's config (nested models, lists and dicts included), and the
    password inside a secret URL."""
    from urllib.parse import urlsplit

    from pydantic import SecretStr

    found: list[str] = []
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        found.append(secret)
        try:
            password = urlsplit(secret).password
        except ValueError:
            password = None
        if password:
            found.append(password)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found += secret_values(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            found += secret_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found += secret_values(item)
    return [s for s in found if len(s) >= 3]


def redact(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def as_ingestion_error(
    exc: BaseException, handle: DltPipeline, step: str | None = None
) -> IngestionError:
    """``exc`` as the plugin's error: categorized, naming source, target, step; secrets redacted.

    ``step`` names where ``exc`` happened when it is not a dlt step failure (``destination``:
    opening the catalog before dlt runs).
    """
    if isinstance(exc, IngestionError):
        return exc
    from dlt.common.schema.exceptions import DataValidationError
    from dlt.pipeline.exceptions import PipelineStepFailed

    cause = root_cause(exc)
    if isinstance(cause, AuditFailedError):  # raised by the destination, already worded
        return cause
    category = categorize_error(exc)
    if step is None:
        step = exc.step if isinstance(exc, PipelineStepFailed) else "extract"
    error_class: type[IngestionError]
    if isinstance(cause, DataValidationError):
        error_class = SchemaContractViolation
    elif isinstance(cause, SourceDataError):
        error_class = SourceDataError
    elif category is ErrorCategory.CONFIGURATION:
        error_class = PipelineConfigurationError
    elif step in ("destination", "load", "sync"):
        error_class = DestinationWriteError
    else:
        error_class = SourceConnectionError
    source = handle.source
    target = source.destination.target
    message = f"source {source.name!r} ({source.type}) -> {target}: {step} failed: "
    secrets = [handle.source_config, handle.settings.catalog, handle.settings.storage]
    message += redact(_describe(cause), secret_values(secrets))[:500]
    if category is ErrorCategory.PARTIAL:
        message += (
            " (tables committed before the failure keep their rows; the rest of the load stays "
            "pending and the next run finishes it once the cause is fixed)"
        )
    return error_class(
        message,
        source_type=source.type,
        destination_table=target,
        pipeline_name=handle.name,
        category=category,
    )
