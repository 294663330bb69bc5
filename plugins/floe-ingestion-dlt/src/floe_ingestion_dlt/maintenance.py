"""Table maintenance of a project: which policy a table gets, and running it table by table.

A table gets the maintenance policy of the source that loads it (the project's ``maintenance:``
with the source's own keys in place), or the project's when no source of floe.yaml loads it.
The CLI (``floe tables maintain``), the Dagster maintenance jobs and the load engine (after a
load, with ``after_load: true``) all call :func:`maintain_tables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from floe_ingestion_dlt.errors import MaintenanceError
from floe_ingestion_dlt.observability import get_logger, span

if TYPE_CHECKING:
    from floe_core.spec import MaintenanceSpec, SourceSpec

    from floe_ingestion_dlt.config import DltIngestionConfig
    from floe_ingestion_dlt.types import DestinationSettings, DestinationType, MaintenanceReport

__all__ = ["maintain_tables", "owner_of"]


def owner_of(config: DltIngestionConfig, table: str) -> SourceSpec | None:
    """The source of floe.yaml that loads ``namespace.table``: the one naming it, else the
    first whose namespace it is in."""
    namespace = table.rpartition(".")[0]
    named = [s for s in config.sources if s.destination.table == table]
    if named:
        return named[0]
    return next(
        (
            s
            for s in config.sources
            if not s.destination.table and s.destination.namespace == namespace
        ),
        None,
    )


def maintain_tables(
    config: DltIngestionConfig,
    destination: DestinationType,
    settings: DestinationSettings,
    tables: Sequence[str],
    *,
    dry_run: bool = False,
    policy: MaintenanceSpec | None = None,
) -> list[MaintenanceReport]:
    """Maintain each of ``tables`` under its policy (``policy`` for all, when given).

    Never raises for one table's failure: its report carries a categorized
    :class:`MaintenanceError` and the other tables are still maintained.
    """
    from floe_ingestion_dlt.types import MaintenanceReport

    reports: list[MaintenanceReport] = []
    for name in tables:
        chosen = policy or config.maintenance_of(owner_of(config, name))
        with span("maintain", destination_table=name, dry_run=dry_run):
            try:
                reports.append(destination.maintain(settings, name, chosen, dry_run=dry_run))
            except Exception as exc:
                caused_by = MaintenanceError.caused_by
                error = exc if isinstance(exc, MaintenanceError) else caused_by(name, exc)
                get_logger().warning(
                    "maintenance_failed",
                    table=name,
                    error_type=type(exc.__cause__ or exc).__name__,
                    error_category=str(error.category),
                )
                done = error.report or MaintenanceReport(table=name, dry_run=dry_run)
                reports.append(replace(done, error=error))
    return reports
