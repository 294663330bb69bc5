"""What source and destination packages provide to the dlt plugin through its hooks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from floe_core.health import HealthState, HealthStatus
from floe_core.spec import CatalogSpec, MergeStrategy, StorageSpec, WriteMode
from pydantic import BaseModel

__all__ = [
    "ColumnWindow",
    "DestinationSettings",
    "DestinationType",
    "DltDestination",
    "DltSource",
    "SourceContext",
    "SourceType",
    "TableCommit",
]

DltSource = Any  # dlt.sources.DltSource (or a DltResource)
DltDestination = Any  # dlt.common.destination.Destination


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
    ) -> DltDestination:
        """A dlt destination writing through ``settings``' catalog; never an implicit one.

        ``lineage`` (source, pipeline) is recorded with what the destination writes. With
        ``window``, a table that has the window's column gets the window's rows replaced by the
        load's (one commit) instead of appended.
        """

    def prepare(self, settings: DestinationSettings, namespace: str) -> None:  # noqa: B027
        """Create what loads into ``namespace`` need before parallel load jobs start."""

    def run_options(self) -> dict[str, Any]:
        """Extra keyword arguments for ``pipeline.run`` (table format, file format)."""
        return {}

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
