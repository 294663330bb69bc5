"""Building a dlt pipeline for one source and running it to a committed load."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from floe_ingestion_dlt.config import IngestionSourceConfig, RetryConfig
from floe_ingestion_dlt.errors import (
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
from floe_ingestion_dlt.hints import schema_contract
from floe_ingestion_dlt.locking import pipeline_lock
from floe_ingestion_dlt.observability import get_logger
from floe_ingestion_dlt.retry import call_with_retry
from floe_ingestion_dlt.types import DestinationSettings, DestinationType, SourceContext, SourceType

__all__ = [
    "DltPipeline",
    "LoadOutcome",
    "as_ingestion_error",
    "build_pipeline",
    "discard_unloadable",
    "run_pipeline",
    "settle_interrupted_run",
]

DltPipelineObject = Any  # dlt.Pipeline


@dataclass
class DltPipeline:
    """One source's pipeline: its config, its builders and the dlt pipeline object."""

    source: IngestionSourceConfig
    source_config: BaseModel
    source_type: SourceType
    destination_type: DestinationType
    settings: DestinationSettings
    context: SourceContext
    pipeline: DltPipelineObject

    @property
    def name(self) -> str:
        return str(self.pipeline.pipeline_name)


@dataclass(frozen=True)
class LoadOutcome:
    rows_loaded: int
    bytes_written: int
    tables: dict[str, int]


def build_pipeline(
    source: IngestionSourceConfig,
    source_config: BaseModel,
    source_type: SourceType,
    destination_type: DestinationType,
    settings: DestinationSettings,
    pipelines_dir: Path,
    progress: str | None = None,
) -> DltPipeline:
    import dlt

    pipelines_dir.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"progress": progress} if progress else {}
    pipeline = dlt.pipeline(
        pipeline_name=source.pipeline_name,
        pipelines_dir=str(pipelines_dir),
        destination=destination_type.build(
            settings,
            lineage={
                "floe.source": source.name,
                "floe.source-type": source.source_type,
                "floe.pipeline": source.pipeline_name,
            },
        ),
        dataset_name=source.namespace,
        **options,
    )
    context = SourceContext(
        source_name=source.name,
        project_dir=settings.project_dir,
        write_mode=source.write_mode,
        merge_strategy=source.merge_strategy,
        primary_key=list(source.primary_key),
        cursor_field=source.cursor_field,
        table_name=source.table_name,
        storage=settings.storage,
    )
    return DltPipeline(
        source, source_config, source_type, destination_type, settings, context, pipeline
    )


def _user_tables(row_counts: dict[str, int]) -> dict[str, int]:
    return {t: n for t, n in row_counts.items() if not t.startswith("_dlt")}


def _bytes_written(info: Any) -> int:
    total = 0
    for package in getattr(info, "load_packages", []):
        for job in package.jobs.get("completed_jobs", []):
            if not job.job_file_info.table_name.startswith("_dlt"):
                total += int(job.file_size or 0)
    return total


def discard_unloadable(handle: DltPipeline, exc: BaseException) -> None:
    """After ``exc``, abort packages that can never load and restore the pipeline state they
    started from.

    Without this, a package rejected by the schema contract would block every later run, and
    an incremental cursor advanced at extract time would skip the rejected rows. A transient
    failure keeps its package for the retry; so does a partial one (a table of the package is
    committed): restoring the cursor would load that table's rows again under a new load id,
    while the pending package's rerun skips the tables its load id has committed.
    """
    if categorize_error(exc) in (ErrorCategory.TRANSIENT, ErrorCategory.PARTIAL):
        return
    pipeline = handle.pipeline
    if pipeline.has_pending_data:
        pipeline.abort_packages()


#: Where dlt saves files atomically (a temporary file named by 16 hex digits, or 32 when it
#: copies, then a rename): a kill between the two leaves the temporary file behind for good.
_ATOMIC_SAVE_FOLDERS = (
    ".",
    "schemas",
    "normalize",
    "normalize/extracted",
    "load",
    "load/new",
    "load/normalized",
    "load/loaded",
)
_ATOMIC_SAVE_TEMPORARY = re.compile(r"[0-9a-f]{16}|[0-9a-f]{32}")


def settle_interrupted_run(pipeline: Any) -> None:
    """Drop what a kill can leave behind that dlt itself never cleans up.

    dlt's normalize renames the finished package into ``load/normalized`` and then deletes the
    extracted package it came from; a kill between the two leaves both, and the next run
    normalizes the extracted copy again and fails moving it onto the package it already made
    ("Directory not empty"), leaving that copy in ``load/new`` for good. A kill inside one of
    dlt's atomic saves leaves its temporary file. Called with the pipeline lock held.
    """
    working = Path(pipeline.working_dir)
    for folder in _ATOMIC_SAVE_FOLDERS:
        with contextlib.suppress(FileNotFoundError):
            for entry in (working / folder).iterdir():
                if _ATOMIC_SAVE_TEMPORARY.fullmatch(entry.name) and entry.is_file():
                    entry.unlink()
    # dlt has no public call that drops a single package
    load_storage = pipeline._get_load_storage()
    if not load_storage.is_storage_ready():
        return
    extracted = set(pipeline.list_extracted_load_packages())
    new = set(load_storage.new_packages.list_packages())
    if not extracted and not new:
        return
    done = set(load_storage.list_normalized_packages()) | set(load_storage.list_loaded_packages())
    for load_id in extracted & done:
        pipeline._get_normalize_storage().extracted_packages.delete_package(load_id)
    for load_id in new & done:
        load_storage.new_packages.delete_package(load_id)


def _describe(cause: BaseException) -> str:
    """One line about the failure."""
    return f"{type(cause).__name__}: {' '.join(str(cause).split())}"


def _secret_values(value: object) -> list[str]:
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
            found += _secret_values(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            found += _secret_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found += _secret_values(item)
    return [s for s in found if len(s) >= 3]


def redact(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def as_ingestion_error(
    exc: Exception, handle: DltPipeline, step: str | None = None
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
    message = f"source {source.name!r} ({source.source_type}) -> {source.target}: {step} failed: "
    secrets = [handle.source_config, handle.settings.catalog, handle.settings.storage]
    message += redact(_describe(cause), _secret_values(secrets))[:500]
    if category is ErrorCategory.PARTIAL:
        message += (
            " (tables committed before the failure keep their rows; the rest of the load stays "
            "pending and the next run finishes it once the cause is fixed)"
        )
    return error_class(
        message,
        source_type=source.source_type,
        destination_table=source.target,
        pipeline_name=handle.name,
        category=category,
    )


def run_pipeline(handle: DltPipeline, retry: RetryConfig) -> LoadOutcome:
    """Extract, normalize and load one source, retrying transient failures."""
    pipeline = handle.pipeline

    def attempt() -> Any:
        try:
            handle.destination_type.prepare(handle.settings, handle.source.namespace)
        except Exception as exc:  # the catalog is down or refuses: retried when transient
            raise as_ingestion_error(exc, handle, step="destination") from exc
        dlt_source = handle.source_type.build(handle.source_config, handle.context)
        settle_interrupted_run(pipeline)
        if pipeline.has_pending_data:  # dlt loads what is pending, then stops for this run
            get_logger().warning(
                "pipeline_resuming",
                pipeline_id=handle.name,
                detail="finishing the load an earlier run left pending; the source is read "
                "again on the next run",
            )
        try:
            return pipeline.run(
                dlt_source,
                schema_contract=schema_contract(handle.source.schema_contract),
                **handle.destination_type.run_options(),
            )
        except Exception as exc:
            discard_unloadable(handle, exc)
            raise

    try:
        with pipeline_lock(
            Path(pipeline.pipelines_dir), handle.name, source_type=handle.source.source_type
        ):
            info = call_with_retry(attempt, retry, pipeline_name=handle.name)
    except Exception as exc:
        raise as_ingestion_error(exc, handle) from exc
    written = handle.destination_type.rows_written(getattr(info, "loads_ids", []))
    if written is None:
        normalize = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
        written = dict(normalize.row_counts) if normalize else {}
    tables = _user_tables(written)
    return LoadOutcome(
        rows_loaded=sum(tables.values()), bytes_written=_bytes_written(info), tables=tables
    )
