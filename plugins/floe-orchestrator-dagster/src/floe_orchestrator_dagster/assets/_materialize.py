"""The body of a source's assets: the engine loads the selected resources; results become events.

Nothing of a load is rebuilt here: the lock, settling an interrupted run, retries of transient
failures, the pending/partial rules and the row counts are the engine's, as for
``floe ingest run``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
)
from floe_core.windows import window_at
from floe_ingestion_dlt.engine import LoadOutcome
from floe_ingestion_dlt.errors import AuditFailedError
from floe_ingestion_dlt.events import LoadEvent, StepStarted
from floe_ingestion_dlt.plugin import DltIngestionPlugin

from floe_orchestrator_dagster.assets.checks import DeclaredCheck, check_results

__all__ = ["materialize"]


def materialize(
    context: AssetExecutionContext,
    plugin: DltIngestionPlugin,
    source_name: str,
    resources: dict[AssetKey, str],
    checks: Sequence[DeclaredCheck] = (),
) -> Iterator[MaterializeResult[Any] | AssetCheckResult]:
    """Load the selected resources of ``source_name``; a failure is a categorized ``Failure``.

    The engine has already retried transient failures per the project's ``retry:``, so the
    failure is not retried again by Dagster. The engine's check results become the results of
    the selected asset ``checks``, also when the checks failed the load: then the rows are
    materialized only if they were published (``publish: direct``) and the step fails after.
    """
    from floe_orchestrator_dagster.assets.ingestion import destination_table

    selected = [key for key in resources if key in context.selected_asset_keys]
    names = [resources[key] for key in selected]
    subset = names if len(names) < len(resources) else None

    def on_event(event: LoadEvent) -> None:
        if isinstance(event, StepStarted):
            context.log.info(f"floe source {source_name!r}: {event.step}")

    source = plugin.config.source(source_name)
    window = None
    if context.has_partition_key and source.partitions is not None:
        window = window_at(context.partition_key, source.partitions.every)
    outcome = plugin.engine.load(source_name, resources=subset, on_event=on_event, window=window)
    audited = isinstance(outcome.error, AuditFailedError)
    if outcome.error is not None and not (audited and source.destination.publish == "direct"):
        yield from check_results(checks, outcome.checks, set(context.selected_asset_check_keys))
        raise _failure(outcome) from None
    maintained = {report.table: report for report in outcome.maintenance}
    for report in outcome.maintenance:  # after_load: a failure there leaves the load committed
        if report.error is not None:
            context.log.warning(f"maintenance after the load failed: {report.error}")
        else:
            context.log.info(f"maintained {report.table}: {report.as_dict()}")
    for key, name in zip(selected, names, strict=True):
        table = destination_table(source, name)
        committed = outcome.table(table)
        metadata: dict[str, Any] = {
            "rows_loaded": MetadataValue.int(committed.rows if committed else 0),
            "source_type": outcome.source_type,
            "destination_table": table,
            "write_mode": source.destination.write_mode,
            "duration_seconds": MetadataValue.float(round(outcome.duration_seconds, 3)),
            "dagster/table_name": table,
            "dagster/storage_kind": "iceberg",
        }
        if committed is not None and committed.snapshot_id is not None:
            metadata["iceberg_snapshot_id"] = MetadataValue.int(committed.snapshot_id)
            metadata["load_ids"] = ", ".join(outcome.load_ids)
        if committed is not None:
            metadata["commit_conflicts"] = MetadataValue.int(committed.commit_conflicts)
        if committed is not None and committed.columns:
            metadata["dagster/column_schema"] = TableSchema(
                columns=[TableColumn(name=n, type=t) for n, t in committed.columns]
            )
        if committed is not None:
            metadata.update(_health(context, plugin, table))
        if table in maintained:  # after_load: what maintaining the table did, or why it failed
            report = maintained[table]
            metadata["floe/maintenance"] = "failed" if report.error else report.compaction
            if report.error is not None:
                metadata["floe/maintenance_error"] = MetadataValue.text(str(report.error))
        yield MaterializeResult(asset_key=key, metadata=metadata)
    yield from check_results(checks, outcome.checks, set(context.selected_asset_check_keys))
    if outcome.error is not None:
        raise _failure(outcome) from None


def _health(context: AssetExecutionContext, plugin: DltIngestionPlugin, table: str) -> Any:
    """The table's health figures after the load (as ``floe tables stats``); none when they
    cannot be read: the load itself is committed."""
    from floe_orchestrator_dagster.maintenance import stats_metadata

    try:
        return stats_metadata(plugin.table_stats(table).as_dict())
    except Exception as exc:
        context.log.warning(f"health of {table} not read: {type(exc).__name__}")
        return {}


def _failure(outcome: LoadOutcome) -> Failure:
    """The engine's error as a Dagster ``Failure`` naming source, step and category."""
    error = outcome.error
    assert error is not None  # nosec B101  # narrows the type; checked upstream
    category = error.category.value
    return Failure(
        description=f"[{category}] {error}",
        metadata={
            "error_category": category,
            "error_type": type(error).__name__,
            "source": outcome.source,
            "source_type": outcome.source_type,
            "destination_table": outcome.target,
            "retryable": False,
            "attempts": outcome.attempts,
        },
        allow_retries=False,
    )
