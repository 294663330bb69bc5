"""What one load of a source did: the tables it committed to, or why it failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from floe_ingestion_dlt.errors import ErrorCategory, IngestionError

if TYPE_CHECKING:
    from floe_ingestion_dlt.types import CheckResult, MaintenanceReport

__all__ = ["LoadOutcome", "LoadStatus", "TableLoad"]

LoadStatus = Literal["success", "failed"]


@dataclass(frozen=True)
class TableLoad:
    """What one load committed to one Iceberg table."""

    table: str  # namespace.table
    rows: int
    snapshot_id: int | None = None
    columns: tuple[tuple[str, str], ...] = ()  # (name, Iceberg type) after the load
    commit_conflicts: int = 0  # concurrent commits the load was planned again after


@dataclass(frozen=True)
class LoadOutcome:
    """The result of loading one source: what it committed, or why it failed."""

    source: str
    source_type: str
    target: str
    status: LoadStatus
    tables: tuple[TableLoad, ...] = ()
    bytes_written: int = 0
    duration_seconds: float = 0.0
    load_ids: tuple[str, ...] = ()
    error: IngestionError | None = None
    attempts: int = 0  # 1 + the retries of transient failures it took
    window: str | None = None  # the partition key of a window run
    checks: tuple[CheckResult, ...] = ()  # the data checks run on what the load committed
    #: ``after_load: true``: what maintaining the committed tables did; a failure there is
    #: reported here and leaves the load a success
    maintenance: tuple[MaintenanceReport, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def rows_loaded(self) -> int:
        return sum(table.rows for table in self.tables)

    @property
    def category(self) -> ErrorCategory | None:
        return self.error.category if self.error is not None else None

    @property
    def rows_per_table(self) -> dict[str, int]:
        """Rows committed per ``namespace.table``."""
        return {t.table: t.rows for t in self.tables}

    def table(self, name: str) -> TableLoad | None:
        """The load of ``namespace.table``, if this load committed to it."""
        return next((t for t in self.tables if t.table == name), None)
