"""What callers of an ingestion engine rely on: the CLI and the orchestrators type against these
protocols, so they never reach into a plugin with ``getattr``.

floe's dlt plugin implements them (``floe_ingestion_dlt.engine``); floe-core stays free of dlt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from floe_core.artifacts import CompiledArtifacts
    from floe_core.health import HealthStatus
    from floe_core.spec import SourceSpec
    from floe_core.windows import TimeWindow

__all__ = [
    "CheckOutcome",
    "IngestionEngine",
    "LoadResult",
    "MaintenanceResult",
    "ProjectIngestion",
    "SourcePlanResult",
    "TableHealth",
    "TableResult",
]


class CheckOutcome(Protocol):
    """One data check run on one table."""

    @property
    def table(self) -> str: ...  # namespace.table
    @property
    def check(self) -> str: ...  # not_null(id)
    @property
    def severity(self) -> str: ...  # error | warn
    @property
    def passed(self) -> bool: ...
    @property
    def failing_rows(self) -> int: ...
    @property
    def examples(self) -> Sequence[str]: ...
    @property
    def blocking(self) -> bool: ...  # a failed error check

    def line(self) -> str: ...


class TableResult(Protocol):
    """What one load committed to one table."""

    @property
    def table(self) -> str: ...  # namespace.table
    @property
    def rows(self) -> int: ...
    @property
    def snapshot_id(self) -> int | None: ...


class SourcePlanResult(Protocol):
    """What a run of one source would do (``floe ingest plan``)."""

    @property
    def source(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...


class LoadResult(Protocol):
    """The outcome of loading one source."""

    @property
    def source(self) -> str: ...
    @property
    def source_type(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def status(self) -> str: ...  # success | failed
    @property
    def tables(self) -> Sequence[TableResult]: ...
    @property
    def bytes_written(self) -> int: ...
    @property
    def duration_seconds(self) -> float: ...
    @property
    def load_ids(self) -> Sequence[str]: ...
    @property
    def error(self) -> Exception | None: ...
    @property
    def ok(self) -> bool: ...
    @property
    def rows_loaded(self) -> int: ...
    @property
    def category(self) -> str | None: ...  # transient|permanent|partial|configuration|audit
    @property
    def rows_per_table(self) -> dict[str, int]: ...
    @property
    def attempts(self) -> int: ...  # 1 + retries of transient failures
    @property
    def window(self) -> str | None: ...  # the partition key of a window run
    @property
    def maintenance(self) -> Sequence[MaintenanceResult]: ...  # after_load: what it did
    @property
    def checks(self) -> Sequence[CheckOutcome]: ...


class MaintenanceResult(Protocol):
    """What maintaining one table did (or, in a dry run, would do)."""

    @property
    def table(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def error(self) -> Exception | None: ...
    def as_dict(self) -> dict[str, Any]: ...  # the counts, as ``floe tables maintain`` prints


class TableHealth(Protocol):
    """One table's health at a glance (data files, sizes, snapshots, partitions)."""

    @property
    def table(self) -> str: ...
    def as_dict(self) -> dict[str, Any]: ...


class IngestionEngine(Protocol):
    """Loads the sources of one configured project."""

    def load(
        self,
        source: str,
        *,
        resources: Sequence[str] | None = None,
        on_event: Callable[[Any], None] | None = None,
        strict: bool = False,
        window: TimeWindow | None = None,
    ) -> LoadResult:
        """Load ``source`` (only ``resources`` of it, when given); never raises for a failure
        of the source: the result carries the error. ``on_event`` receives progress events."""
        ...

    def audit(self, table: str) -> Sequence[CheckOutcome]:
        """Run the checks floe.yaml declares for ``namespace.table`` on its main branch now."""
        ...

    def publish(self, table: str, branch: str) -> int:
        """Move main of ``namespace.table`` to the head of a kept audit ``branch``."""
        ...

    def plan(self, source: str) -> SourcePlanResult:
        """What a run of ``source`` would do, changing nothing."""
        ...


@runtime_checkable
class ProjectIngestion(Protocol):
    """An ingestion plugin configured from a project, as the CLI uses it."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def engine(self) -> IngestionEngine: ...
    @property
    def sources(self) -> Sequence[SourceSpec]: ...

    def configure(self, artifacts: CompiledArtifacts) -> None: ...
    def startup(self) -> None: ...
    def health_check(self, timeout: float = ...) -> HealthStatus: ...
    def check_storage(self, timeout: float = ...) -> HealthStatus | None: ...
    def check_source(self, source: SourceSpec, timeout: float = ...) -> HealthStatus: ...
    def list_tables(self) -> list[str]: ...
    def read_table(self, name: str, limit: int | None = None) -> Any: ...
    def table_history(self, name: str) -> list[dict[str, Any]]: ...
    def maintain(
        self, tables: Sequence[str] | None = None, *, dry_run: bool = False
    ) -> Sequence[MaintenanceResult]:
        """Run each table's maintenance policy (every table by default); never raises for one
        table's failure: its result carries the error."""
        ...

    def table_stats(self, name: str) -> TableHealth: ...
