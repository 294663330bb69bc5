"""One step of a source's assets: a fresh dlt source and pipeline, floe's metadata and errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryRequested,
)
from dagster_dlt import DagsterDltResource, DagsterDltTranslator
from floe_ingestion_dlt.config import IngestionSourceConfig, RetryConfig
from floe_ingestion_dlt.errors import ErrorCategory, IngestionError, categorize_error, root_cause
from floe_ingestion_dlt.hints import schema_contract
from floe_ingestion_dlt.loading import (
    DltPipeline,
    as_ingestion_error,
    discard_unloadable,
    settle_interrupted_run,
)
from floe_ingestion_dlt.locking import pipeline_lock
from floe_ingestion_dlt.observability import get_logger, span
from floe_ingestion_dlt.plugin import DltIngestionPlugin
from floe_ingestion_dlt.types import DltSource

__all__ = ["materialize", "wrap_source"]


def wrap_source(built: DltSource, handle: DltPipeline) -> DltSource:
    """A ``DltSource``: a source type that builds one resource gets it wrapped as dlt would."""
    from dlt.extract.extract import data_to_sources
    from dlt.extract.source import DltSource as Source

    if isinstance(built, Source):
        return built
    [source] = data_to_sources(built, handle.pipeline)
    return source


def materialize(
    context: AssetExecutionContext,
    dlt: DagsterDltResource,
    plugin: DltIngestionPlugin,
    source_name: str,
    translator: DagsterDltTranslator,
) -> Iterator[MaterializeResult[Any]]:
    """Load the selected resources of ``source_name``; failures become a categorized ``Failure``.

    Only TRANSIENT failures are retried: by the job's retry policy, or, in a job without one
    (Dagster's implicit asset job), by requesting retries per the project's ``retry:``.
    """
    source = plugin.config.source(source_name)
    log = get_logger().bind(
        pipeline_id=source.pipeline_name, source_type=source.source_type, orchestrator="dagster"
    )
    log.info("pipeline_started", source=source.name, status="running", run_id=context.run.run_id)
    started = time.perf_counter()
    handle: DltPipeline | None = None
    try:
        with span(
            "run",
            source_type=source.source_type,
            destination_table=source.target,
            write_mode=source.write_mode,
        ) as current:
            handle = plugin.create_pipeline(source)
            with pipeline_lock(
                Path(handle.pipeline.pipelines_dir), handle.name, source_type=source.source_type
            ):
                results = _run(context, dlt, handle, translator)
            current.set_attribute("ingestion.duration_seconds", time.perf_counter() - started)
    except Exception as exc:
        failure = _failure(exc, source, handle, time.perf_counter() - started, log)
        if _request_retry(context, failure, plugin.config.retry_config):
            delay = plugin.config.retry_config.initial_delay_seconds * 2**context.retry_number
            raise RetryRequested(
                max_retries=plugin.config.retry_config.max_retries,
                seconds_to_wait=min(delay, plugin.config.retry_config.max_delay_seconds),
            ) from failure
        raise failure from None
    assert handle is not None
    duration = time.perf_counter() - started
    outcome = _Outcome(context, plugin, handle, duration)
    enriched = [outcome.enrich(result) for result in results]
    log.info(
        "pipeline_completed",
        status="success",
        rows_loaded=sum(outcome.rows.values()),
        duration_seconds=round(duration, 3),
    )
    yield from enriched


def _run(
    context: AssetExecutionContext,
    dlt: DagsterDltResource,
    handle: DltPipeline,
    translator: DagsterDltTranslator,
) -> list[MaterializeResult[Any]]:
    handle.destination_type.prepare(handle.settings, handle.source.namespace)
    # A dlt source object cannot be run twice in one process: build a fresh one every run.
    dlt_source = wrap_source(handle.source_type.build(handle.source_config, handle.context), handle)
    settle_interrupted_run(handle.pipeline)
    try:
        events = dlt.run(
            context=context,
            dlt_source=dlt_source,
            dlt_pipeline=handle.pipeline,
            dagster_dlt_translator=translator,
            schema_contract=schema_contract(handle.source.schema_contract),
            **handle.destination_type.run_options(),
        )
        return [event for event in events if isinstance(event, MaterializeResult)]
    except Exception as exc:
        discard_unloadable(handle, exc)
        raise


def _request_retry(context: AssetExecutionContext, failure: Failure, retry: RetryConfig) -> bool:
    """Does this transient failure retry by itself: no job policy, and retries are left?"""
    return (
        failure.allow_retries
        and context.job_def.op_retry_policy is None
        and context.retry_number < retry.max_retries
    )


def _failure(
    exc: Exception,
    source: IngestionSourceConfig,
    handle: DltPipeline | None,
    duration: float,
    log: Any,
) -> Failure:
    """``exc`` as a Dagster ``Failure`` naming source, step and category, secrets redacted."""
    error: Exception = as_ingestion_error(exc, handle) if handle is not None else exc
    category = error.category if isinstance(error, IngestionError) else categorize_error(exc)
    log.error(
        "pipeline_failed",
        status="failed",
        error_type=type(root_cause(exc)).__name__,
        error_category=category.value,
        duration_seconds=round(duration, 3),
    )
    return Failure(
        description=f"[{category.value}] {error}",
        metadata={
            "error_category": category.value,
            "error_type": type(root_cause(exc)).__name__,
            "source": source.name,
            "source_type": source.source_type,
            "destination_table": source.target,
            "retryable": category is ErrorCategory.TRANSIENT,
        },
        allow_retries=category is ErrorCategory.TRANSIENT,
    )


class _Outcome:
    """What one run loaded, per asset: rows (0 included), table, snapshot written, duration."""

    def __init__(
        self,
        context: AssetExecutionContext,
        plugin: DltIngestionPlugin,
        handle: DltPipeline,
        duration: float,
    ) -> None:
        trace = handle.pipeline.last_trace
        normalize = trace.last_normalize_info if trace else None
        load = trace.last_load_info if trace else None
        self._row_counts: dict[str, int] = dict(normalize.row_counts) if normalize else {}
        self._load_ids: set[str] = set(load.loads_ids) if load else set()
        self._context = context
        self._plugin = plugin
        self._source = handle.source
        self._duration = duration
        self.rows: dict[str, int] = {}

    def enrich(self, result: MaterializeResult[Any]) -> MaterializeResult[Any]:
        assert result.asset_key is not None
        spec_metadata = self._context.assets_def.metadata_by_key[result.asset_key]
        table = str(spec_metadata["destination_table"])
        rows = int(self._row_counts.get(table.split(".", 1)[1], 0))
        self.rows[table] = rows
        metadata: dict[str, Any] = {
            **(result.metadata or {}),
            "rows_loaded": MetadataValue.int(rows),
            "source_type": self._source.source_type,
            "destination_table": table,
            "write_mode": self._source.write_mode,
            "duration_seconds": MetadataValue.float(round(self._duration, 3)),
            "dagster/table_name": table,
            "dagster/storage_kind": "iceberg",
        }
        snapshot_id = self._snapshot_written(table)
        if snapshot_id is not None:
            metadata["iceberg_snapshot_id"] = MetadataValue.int(snapshot_id)
        return MaterializeResult(asset_key=result.asset_key, metadata=metadata)

    def _snapshot_written(self, table: str) -> int | None:
        """The id of the last snapshot this run's loads committed to ``table``, if any."""
        if not self._load_ids:
            return None
        try:
            history = self._plugin.table_history(table)
        except Exception as exc:  # the load succeeded; a history that cannot be read is no failure
            self._context.log.warning(f"cannot read the snapshots of {table}: {exc}")
            return None
        written = [entry for entry in history if entry.get("load_id") in self._load_ids]
        return int(written[-1]["snapshot_id"]) if written else None
