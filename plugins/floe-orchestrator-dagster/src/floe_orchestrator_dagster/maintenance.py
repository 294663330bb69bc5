"""Maintenance jobs: one op-based job per source maintaining its tables, apart from its assets.

The job materializes nothing, so it never waits on (or blocks) the ingestion assets; it calls
the engine's maintenance (the same as ``floe tables maintain``) and records each table's health
as an observation of the table's asset.
"""

# No ``from __future__ import annotations``: Dagster reads the op's resource annotations.

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetKey,
    AssetObservation,
    Failure,
    JobDefinition,
    MetadataValue,
    OpExecutionContext,
    Output,
    ResourceParam,
    job,
    op,
)
from floe_core.spec import SourceSpec
from floe_ingestion_dlt.plugin import DltIngestionPlugin

__all__ = ["create_maintenance_job", "maintenance_job_name", "stats_metadata"]


def maintenance_job_name(source: str) -> str:
    """The job that maintains the tables of ``source``."""
    return f"maintain_{source}"


def stats_metadata(figures: dict[str, Any]) -> dict[str, Any]:
    """A table's health figures (``TableStats.as_dict()``) as Dagster metadata."""
    metadata: dict[str, Any] = {
        f"floe/{key}": MetadataValue.int(value)
        for key, value in figures.items()
        if isinstance(value, int) and not isinstance(value, bool)
    }
    metadata["floe/last_maintenance"] = figures.get("last_maintenance") or "never"
    return metadata


def create_maintenance_job(source: SourceSpec, tables: dict[AssetKey, str]) -> JobDefinition:
    """The maintenance job of ``source``, whose ``tables`` are keyed by their asset."""

    @op(
        name=f"{maintenance_job_name(source.name)}_op",
        tags={"floe/source": source.name, "floe/kind": "maintenance"},
    )
    def _maintain(
        context: OpExecutionContext, floe_ingestion: ResourceParam[DltIngestionPlugin]
    ) -> Iterator[Any]:
        existing = set(floe_ingestion.list_tables())
        present = {key: name for key, name in tables.items() if name in existing}
        if not present:
            context.log.info(f"source {source.name!r} has no table yet: nothing to maintain")
        reports = floe_ingestion.maintain(list(present.values()))
        failed = [report for report in reports if not report.ok]
        for key, report in zip(present, reports, strict=True):
            context.log.info(f"maintained {report.table}: {report.as_dict()}")
            if report.ok:
                stats = floe_ingestion.table_stats(report.table).as_dict()
                yield AssetObservation(asset_key=key, metadata=stats_metadata(stats))
        if failed:
            raise Failure(
                description="; ".join(str(report.error) for report in failed),
                metadata={"tables": ", ".join(report.table for report in failed)},
                allow_retries=False,
            )
        yield Output(len(reports))

    @job(
        name=maintenance_job_name(source.name),
        description=f"Maintain the Iceberg tables of source {source.name!r}: compact, expire "
        "snapshots, remove orphan files",
        tags={"floe/source": source.name, "floe/kind": "maintenance"},
    )
    def _job() -> None:
        _maintain()

    return _job
