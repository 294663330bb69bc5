"""What source and destination packages provide to the dlt plugin through its hooks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from floe_core.health import HealthState, HealthStatus
from floe_core.layout import TableLayout
from floe_core.spec import (
    CatalogSpec,
    CheckSpec,
    MaintenanceSpec,
    MergeStrategy,
    SourceSpec,
    StorageSpec,
    WriteMode,
)
from pydantic import BaseModel

__all__ = [
    "ArrowSchema",
    "CheckResult",
    "ColumnChange",
    "ColumnWindow",
    "DestinationSettings",
    "DestinationType",
    "DltDestination",
    "DltSource",
    "MaintenanceReport",
    "ReadPreview",
    "SourceContext",
    "SourceType",
    "TableCommit",
    "TableState",
    "TableStats",
]

DltSource = Any  # dlt.sources.DltSource (or a DltResource)
DltDestination = Any  # dlt.common.destination.Destination
ArrowSchema = Any  # pyarrow.Schema


@dataclass(frozen=True)
class SourceContext:
    """What a source needs to know beyond its own config block."""

    source_name: str
    project_dir: str
    write_mode: WriteMode = "append"
    merge_strategy: MergeStrategy = "upsert"
    primary_key: list[str] = field(default_factory=list)
    cursor_field: str | None = None
    table_name: str | None = None
    storage: StorageSpec | None = None  # floe.yaml's ``storage:``, for sources on object storage
    #: ``floe ingest run --strict``: what a source would only warn about fails the source
    strict: bool = False
    #: a partition run: read only the rows whose ``partitions.column`` is in this window
    window: ColumnWindow | None = None


@dataclass(frozen=True)
class ColumnWindow:
    """The rows of one time window: ``start <= column < end`` (UTC)."""

    column: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ReadPreview:
    """What a run would read from one resource, told cheaply and without reading it."""

    rows: int | None = None  # None: the source cannot tell cheaply
    files: int | None = None  # file sources: the files it would read ...
    bytes: int | None = None  # ... and their size
    how: str = ""  # how the estimate was made (``count(*) where ...``), or why there is none
    #: the columns as they would land (named as dlt names them); ``None``: known only by reading
    schema: ArrowSchema | None = None
    #: dlt's column hints the resource declares (by the same names), which dlt's schema
    #: contract compares with the stored schema; ``None``: known only by reading
    columns: dict[str, dict[str, Any]] | None = None


class SourceType(ABC):
    """A ``type:`` of source: validates its config block and builds the dlt source."""

    name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]

    @property
    def distribution(self) -> str:
        """The package to ``pip install`` for this source type."""
        return f"floe-dlt-source-{self.name.replace('_', '-')}"

    @abstractmethod
    def check_imports(self, config: BaseModel | None = None) -> None:
        """Raise ``ImportError`` naming the missing module and the ``pip install`` line.

        With ``config``, also check what that configuration needs (a database driver, say).
        """

    @abstractmethod
    def build(self, config: BaseModel, context: SourceContext) -> DltSource:
        """Build the dlt source with all its resources, applying the context's hints."""

    def resource_names(self, config: BaseModel, context: SourceContext) -> list[str] | None:
        """The resources ``config`` declares, known without connecting to anything (asset
        specs are made from them); ``None`` when only the source itself can tell."""
        return None

    def row_estimates(self, config: BaseModel, context: SourceContext) -> dict[str, int]:
        """Rows each resource will read, where the source can tell cheaply (for progress
        percentages); empty when it cannot. Never raises."""
        return {}

    def preview(
        self,
        config: BaseModel,
        context: SourceContext,
        after: Mapping[str, Any],
        timeout: float,
    ) -> dict[str, ReadPreview]:
        """What a run would read from each resource (``floe ingest plan``), given the stored
        cursor value of each resource in ``after`` (absent: read from the start): rows or files
        where the source can tell cheaply, and the columns as they would land. Changes nothing;
        a resource left out is unknown. Raises what reaching the source raises."""
        return {}

    def health_check(
        self, config: BaseModel, context: SourceContext, timeout: float
    ) -> HealthStatus:
        """Can the source be reached? Sources that cannot tell report HEALTHY."""
        return HealthStatus(HealthState.HEALTHY, f"{self.name}: nothing to check")


@dataclass(frozen=True)
class TableCommit:
    """What loads committed to one table: rows written, the last snapshot they made, and the
    table's columns (name, type) after it."""

    rows: int
    snapshot_id: int | None
    columns: tuple[tuple[str, str], ...] = ()
    commit_conflicts: int = 0  # concurrent commits it was planned again after


@dataclass(frozen=True)
class MaintenanceReport:
    """What maintaining one table did (or, in a dry run, would do)."""

    table: str  # namespace.table
    dry_run: bool = False
    data_files_before: int = 0
    data_files_after: int = 0
    bytes_rewritten: int = 0
    snapshots_expired: int = 0
    expired_files_deleted: int = 0  # files only the expired snapshots referenced
    orphan_files_removed: int = 0
    #: what compaction did: ``compacted``, ``nothing to compact``, ``not configured`` or why it
    #: gave up (a concurrent change to the files it was rewriting, say)
    compaction: str = "not configured"
    error: Exception | None = None  # maintenance of this table failed; the rest still ran

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "dry_run": self.dry_run,
            "data_files_before": self.data_files_before,
            "data_files_after": self.data_files_after,
            "bytes_rewritten": self.bytes_rewritten,
            "snapshots_expired": self.snapshots_expired,
            "expired_files_deleted": self.expired_files_deleted,
            "orphan_files_removed": self.orphan_files_removed,
            "compaction": self.compaction,
            "status": "success" if self.ok else "failed",
            "error": str(self.error) if self.error is not None else None,
        }


@dataclass(frozen=True)
class TableStats:
    """The health of one table at a glance, read from its current metadata."""

    table: str
    data_files: int
    data_bytes: int
    records: int
    snapshots: int
    partitions: int
    delete_files: int
    last_maintenance: str | None  # ISO 8601 UTC, when floe last maintained it

    @property
    def average_file_bytes(self) -> int:
        return self.data_bytes // self.data_files if self.data_files else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "data_files": self.data_files,
            "data_bytes": self.data_bytes,
            "average_file_bytes": self.average_file_bytes,
            "records": self.records,
            "snapshots": self.snapshots,
            "partitions": self.partitions,
            "delete_files": self.delete_files,
            "last_maintenance": self.last_maintenance,
        }


@dataclass(frozen=True)
class CheckResult:
    """One data check run on one table: whether it passed, the rows failing it, a few keys."""

    table: str  # namespace.table
    check: str  # the check's label, e.g. ``not_null(id)``
    severity: str  # error | warn
    passed: bool
    failing_rows: int = 0
    examples: tuple[str, ...] = ()  # up to 5 keys of failing rows (``id=3``)
    detail: str = ""  # what was compared (row_count), or why the check could not run

    @property
    def blocking(self) -> bool:
        """An error check that failed: it fails the load and keeps it from being published."""
        return self.severity == "error" and not self.passed

    def line(self) -> str:
        """One line for people: table, check, failing rows, example keys."""
        status = "passed" if self.passed else "failed"
        if self.failing_rows:
            status += f", {self.failing_rows:,} failing rows"
        if self.detail:
            status += f" ({self.detail})"
        examples = f"; e.g. {', '.join(self.examples)}" if self.examples else ""
        return f"{self.table}: {self.check} [{self.severity}] {status}{examples}"


@dataclass(frozen=True)
class ColumnChange:
    """How a load would change one column of an existing table."""

    column: str
    change: Literal["add", "promote", "refuse"]
    before: str | None  # the table's type now (``None``: a new column)
    after: str  # the type the load brings
    reason: str = ""  # why the table refuses it


@dataclass(frozen=True)
class TableState:
    """A destination table as it is now, read without changing anything; with what a load of
    given columns and layout would change."""

    columns: tuple[tuple[str, str], ...]  # (name, type)
    snapshot_id: int | None
    rows: int
    branches: tuple[str, ...] = ()  # kept audit branches
    column_changes: tuple[ColumnChange, ...] = ()
    #: partition spec and sort order changes, in floe.yaml's words
    layout_changes: tuple[str, ...] = ()
    #: what the table would refuse of the layout (a column it lacks)
    layout_refused: str = ""


@dataclass(frozen=True)
class DestinationSettings:
    """The catalog and storage a destination writes through."""

    catalog: CatalogSpec
    storage: StorageSpec
    project_dir: str


class DestinationType(ABC):
    """Where dlt writes: builds the dlt destination and reads back what landed."""

    name: ClassVar[str]

    @abstractmethod
    def check_imports(self) -> None:
        """Raise ``ImportError`` naming the missing module and the ``pip install`` line."""

    @abstractmethod
    def destination_config(self, settings: DestinationSettings) -> dict[str, Any]:
        """The destination's configuration as a flat dict (secrets included: never log it)."""

    @abstractmethod
    def build(
        self,
        settings: DestinationSettings,
        lineage: dict[str, str] | None = None,
        window: ColumnWindow | None = None,
        layout: TableLayout | None = None,
        audit: SourceSpec | None = None,
    ) -> DltDestination:
        """A dlt destination writing through ``settings``' catalog; never an implicit one.

        ``lineage`` (source, pipeline) is recorded with what the destination writes. With
        ``window``, a table that has the window's column gets the window's rows replaced by the
        load's (one commit) instead of appended. With ``audit``, each load is written aside,
        ``audit``'s checks run on it, and it is published only when every error check passes
        (raising ``AuditFailedError`` otherwise).
        """

    def prepare(self, settings: DestinationSettings, namespace: str) -> None:  # noqa: B027
        """Create what loads into ``namespace`` need before parallel load jobs start."""

    def run_options(self) -> dict[str, Any]:
        """Extra keyword arguments for ``pipeline.run`` (table format, file format)."""
        return {}

    @abstractmethod
    def empty_window(
        self,
        settings: DestinationSettings,
        tables: Sequence[str],
        window: ColumnWindow,
        properties: dict[str, str],
    ) -> None:
        """Delete the window's rows of each of ``tables`` (``namespace.table``) that exists."""

    def committed(
        self, settings: DestinationSettings, tables: Sequence[str], load_ids: Sequence[str]
    ) -> dict[str, TableCommit]:
        """What the loads ``load_ids`` committed to each of ``tables`` (``namespace.table``),
        read from the destination itself; tables they did not commit to are left out."""
        return {}

    @abstractmethod
    def health_check(self, settings: DestinationSettings, timeout: float) -> HealthStatus:
        """Open the catalog and report whether it answers."""

    def storage_health(self, settings: DestinationSettings, timeout: float) -> HealthStatus | None:
        """Whether the object storage that tables and state live in answers; ``None`` when
        there is none to check apart from the catalog."""
        return None

    @abstractmethod
    def list_tables(self, settings: DestinationSettings) -> list[str]:
        """Every ``namespace.table`` in the catalog."""

    @abstractmethod
    def read_table(self, settings: DestinationSettings, name: str, limit: int | None = None) -> Any:
        """The rows of ``namespace.table`` as a ``pyarrow.Table``."""

    def table_history(self, settings: DestinationSettings, name: str) -> list[dict[str, Any]]:
        """Snapshots of ``namespace.table``, oldest first."""
        return []

    @abstractmethod
    def maintain(
        self,
        settings: DestinationSettings,
        name: str,
        policy: MaintenanceSpec,
        *,
        dry_run: bool = False,
    ) -> MaintenanceReport:
        """Compact, expire snapshots and remove orphan files of ``namespace.table`` per
        ``policy``; with ``dry_run``, say what would be done and change nothing."""

    @abstractmethod
    def table_stats(self, settings: DestinationSettings, name: str) -> TableStats:
        """Data files, sizes, snapshots and partitions of ``namespace.table``."""

    @abstractmethod
    def run_checks(
        self,
        settings: DestinationSettings,
        name: str,
        checks: Sequence[CheckSpec],
        keys: Sequence[str],
        *,
        branch: str | None = None,
    ) -> list[CheckResult]:
        """Run ``checks`` on ``namespace.table`` as of ``branch`` (main when ``None``);
        ``keys`` name the columns shown as examples of failing rows."""

    def describe_table(
        self,
        settings: DestinationSettings,
        name: str,
        incoming: ArrowSchema | None = None,
        layout: TableLayout | None = None,
    ) -> TableState | None:
        """``namespace.table`` as it is now (``None``: not there yet), creating nothing: not the
        catalog, its folders, nor the namespace. With ``incoming`` (the columns a load brings)
        and ``layout``, also how that load would change its columns and layout, judged by the
        rules the load applies."""
        return None

    def audit_results(self, load_ids: Sequence[str]) -> tuple[CheckResult, ...]:
        """The check results of the audited loads ``load_ids`` that this process published."""
        return ()

    @abstractmethod
    def publish(self, settings: DestinationSettings, name: str, branch: str) -> int:
        """Publish the kept ``branch`` of ``namespace.table``: main moves to its head (returned)."""
