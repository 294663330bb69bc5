"""The ``floe.yaml`` model: what a data engineer writes, validated before anything runs."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

__all__ = [
    "AcceptedValuesSpec",
    "CatalogSpec",
    "CheckSpec",
    "CompactSpec",
    "DestinationSpec",
    "Duration",
    "ExpireSnapshotsSpec",
    "FloeSpec",
    "IngestionSpec",
    "MaintenanceSpec",
    "MergeStrategy",
    "PartitionsSpec",
    "PublishMode",
    "RemoveOrphanFilesSpec",
    "RetrySpec",
    "RowCountSpec",
    "S3Spec",
    "SchemaContract",
    "Severity",
    "SourceSpec",
    "StorageSpec",
    "WriteMode",
    "duration_of",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

SOURCE_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
WriteMode = Literal["append", "replace", "merge"]
MergeStrategy = Literal["upsert", "delete-insert"]
SchemaContract = Literal["evolve", "freeze", "discard_value"]
PublishMode = Literal["direct", "audit"]
Severity = Literal["error", "warn"]


class CatalogSpec(BaseModel):
    """The Iceberg catalog tables are registered in."""

    model_config = _FROZEN

    type: Literal["sql", "rest"] = "sql"
    name: str = "floe"
    uri: str | None = None
    warehouse: str | None = None
    credential: SecretStr | None = None
    token: SecretStr | None = None
    scope: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rest_needs_uri(self) -> Self:
        if self.type == "rest" and not self.uri:
            raise ValueError("a rest catalog needs a uri")
        return self


class S3Spec(BaseModel):
    """S3-compatible object storage for table data."""

    model_config = _FROZEN

    endpoint: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    region: str | None = None
    path_style: bool = False


class StorageSpec(BaseModel):
    """Object storage for table data, and where pipeline state and load records are kept."""

    model_config = _FROZEN

    s3: S3Spec | None = None
    state_url: str | None = Field(
        default=None,
        description="folder or s3:// URL for dlt's pipeline state and load records; default: "
        "the warehouse of a sql catalog, .floe/state for a rest catalog",
    )


class RetrySpec(BaseModel):
    """Retries of transient failures, with exponential backoff."""

    model_config = _FROZEN

    max_retries: int = Field(default=3, ge=0, le=20)
    initial_delay_seconds: float = Field(default=1.0, ge=0.0, le=300.0)
    max_delay_seconds: float = Field(default=60.0, gt=0.0, le=3600.0)


class DestinationSpec(BaseModel):
    """Where a source lands and how rows are written."""

    model_config = _FROZEN

    table: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w]*\.[A-Za-z_][\w]*$")
    namespace: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w]*$")
    write_mode: WriteMode = "append"
    merge_strategy: MergeStrategy = "upsert"
    primary_key: str | list[str] | None = None
    schema_contract: SchemaContract = "evolve"
    #: Iceberg partition transforms (``month(updated_at)``, ``bucket(16, id)``, ...), applied when
    #: a table is created and as partition evolution when they change
    partition_by: list[str] = Field(default_factory=list)
    #: the table's sort order (``id``, ``updated_at desc nulls last``); data files are written
    #: sorted by it
    sort_by: list[str] = Field(default_factory=list)
    publish: PublishMode = "direct"

    @field_validator("partition_by")
    @classmethod
    def _partition_terms(cls, value: list[str]) -> list[str]:
        from floe_core.layout import parse_partition

        for item in value:
            parse_partition(item)
        return value

    @field_validator("sort_by")
    @classmethod
    def _sort_terms(cls, value: list[str]) -> list[str]:
        from floe_core.layout import parse_sort

        for item in value:
            parse_sort(item)
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.table and self.namespace:
            raise ValueError("give either 'table' or 'namespace', not both")
        if not self.table and not self.namespace:
            raise ValueError("give 'table' (namespace.table) or 'namespace'")
        return self

    @property
    def primary_keys(self) -> list[str]:
        if self.primary_key is None:
            return []
        return [self.primary_key] if isinstance(self.primary_key, str) else list(self.primary_key)

    @property
    def namespace_name(self) -> str:
        """The Iceberg namespace rows land in."""
        if self.table:
            return self.table.split(".", 1)[0]
        assert self.namespace is not None  # nosec B101  # narrows the type; checked upstream
        return self.namespace

    @property
    def target(self) -> str:
        """``namespace.table`` or ``namespace.*`` for display."""
        return self.table or f"{self.namespace}.*"


_COLUMN = r"^[A-Za-z_][\w]*$"
_CHECK_KINDS = ("not_null", "unique", "accepted_values", "row_count", "expression")


class AcceptedValuesSpec(BaseModel):
    """``accepted_values``: every non-NULL value of ``column`` is one of ``values``."""

    model_config = _FROZEN

    column: str = Field(pattern=_COLUMN)
    values: list[str | int | float | bool] = Field(min_length=1)


class RowCountSpec(BaseModel):
    """``row_count``: the rows one load brings to the table are within ``min`` and ``max``."""

    model_config = _FROZEN

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError("row_count needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"row_count: min ({self.min}) is greater than max ({self.max})")
        return self


class CheckSpec(BaseModel):
    """One data check of a table: exactly one kind, with a severity (``error`` fails the load)."""

    model_config = _FROZEN

    not_null: list[Annotated[str, Field(pattern=_COLUMN)]] | None = Field(
        default=None, min_length=1
    )
    unique: list[Annotated[str, Field(pattern=_COLUMN)]] | None = Field(default=None, min_length=1)
    accepted_values: AcceptedValuesSpec | None = None
    row_count: RowCountSpec | None = None
    expression: str | None = Field(default=None, min_length=1)
    severity: Severity = "error"

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = [kind for kind in _CHECK_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a check has exactly one of {', '.join(_CHECK_KINDS)} (got {len(given)})"
            )
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in _CHECK_KINDS if getattr(self, kind) is not None)

    @property
    def label(self) -> str:
        """How the check is named in results: ``not_null(id, customer_id)``."""
        if self.not_null is not None:
            return f"not_null({', '.join(self.not_null)})"
        if self.unique is not None:
            return f"unique({', '.join(self.unique)})"
        if self.accepted_values is not None:
            return f"accepted_values({self.accepted_values.column})"
        if self.row_count is not None:
            bounds = [
                f"{k}={v}"
                for k, v in (("min", self.row_count.min), ("max", self.row_count.max))
                if v is not None
            ]
            return f"row_count({', '.join(bounds)})"
        return f"expression({self.expression})"


#: Source types whose ``config:`` can name each resource's primary key (rest_api resources);
#: their plugin checks that every merged resource has one.
_KEYS_IN_CONFIG = frozenset({"rest_api"})
_M = TypeVar("_M", bound=BaseModel)
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


_MAX_SECONDS = 36_500 * 86_400  # a hundred years


def _seconds(value: str) -> int:
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"a duration is written 30s, 15m, 12h or 7d (got {value!r})")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _duration(value: str) -> str:
    if _seconds(value) > _MAX_SECONDS:
        raise ValueError(f"a duration is at most 36500d (got {value!r})")
    return value


#: A duration as floe.yaml writes it: a whole number and a unit, ``30s``, ``15m``, ``12h``, ``7d``.
Duration = Annotated[str, AfterValidator(_duration)]


def duration_of(value: str) -> timedelta:
    """The :class:`timedelta` of a :data:`Duration` string."""
    return timedelta(seconds=_seconds(value))


class CompactSpec(BaseModel):
    """Bin-pack a partition's small data files into files of about the target size."""

    model_config = _FROZEN

    target_file_size_mb: int = Field(default=128, ge=1, le=65_536)
    min_input_files: int = Field(default=5, ge=2, le=100_000)


class ExpireSnapshotsSpec(BaseModel):
    """Expire snapshots older than ``older_than``, keeping at least the last ``retain_last``."""

    model_config = _FROZEN

    older_than: Duration = "7d"
    retain_last: int = Field(default=10, ge=1, le=100_000)


class RemoveOrphanFilesSpec(BaseModel):
    """Delete files under a table's location that nothing references, once ``older_than``."""

    model_config = _FROZEN

    older_than: Duration = "3d"


class MaintenanceSpec(BaseModel):
    """How floe keeps tables healthy; a step set to ``null`` is not run."""

    model_config = _FROZEN

    compact: CompactSpec | None = Field(default_factory=CompactSpec)
    expire_snapshots: ExpireSnapshotsSpec | None = Field(default_factory=ExpireSnapshotsSpec)
    remove_orphan_files: RemoveOrphanFilesSpec | None = Field(default_factory=RemoveOrphanFilesSpec)
    after_load: bool = False
    schedule: str | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return _check_cron(value)

    def overridden_by(self, other: MaintenanceSpec | None) -> MaintenanceSpec:
        """This policy with the keys ``other`` sets (a source's own ``maintenance:``) replaced."""
        return _overridden(self, other) if other is not None else self


def _overridden(base: _M, other: _M) -> _M:
    """``base`` with the keys ``other`` sets replaced, sub-blocks merged the same way."""
    update: dict[str, Any] = {}
    for key in other.model_fields_set:
        mine, theirs = getattr(base, key), getattr(other, key)
        both_blocks = isinstance(mine, BaseModel) and isinstance(theirs, BaseModel)
        update[key] = _overridden(mine, theirs) if both_blocks else theirs
    return base.model_copy(update=update)


def _check_cron(value: str | None) -> str | None:
    if value is not None and len(value.split()) not in (5, 6):
        raise ValueError("schedule must be a cron expression with 5 fields, e.g. '0 * * * *'")
    return value


class PartitionsSpec(BaseModel):
    """Time windows of a source: Dagster time-window partitions, ``floe ingest run --partition``.

    A window's run reads the source rows whose ``column`` is in the window and replaces exactly
    those rows of the table.
    """

    model_config = _FROZEN

    column: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    start: date | datetime
    every: Literal["hour", "day", "week", "month"] = "day"


class SourceSpec(BaseModel):
    """One source: its type, its own config block (validated by its plugin) and destination."""

    model_config = _FROZEN

    name: str = Field(pattern=SOURCE_NAME_PATTERN, max_length=63)
    type: str = Field(min_length=1)
    schedule: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    destination: DestinationSpec
    partitions: PartitionsSpec | None = None
    #: Dagster declarative automation: ``on_cron`` (on ``schedule``'s ticks, once upstream
    #: assets are updated) or ``eager`` (whenever an upstream asset is updated)
    automation: Literal["on_cron", "eager"] | None = None
    maintenance: MaintenanceSpec | None = None  # overrides the keys it sets of the project's
    checks: dict[str, list[CheckSpec]] = Field(
        default_factory=dict,
        description="data checks per table of this source (resource name, or '*' for every "
        "table); run after each load, and before publishing under publish: audit",
    )

    @field_validator("checks")
    @classmethod
    def _check_tables(cls, checks: dict[str, list[CheckSpec]]) -> dict[str, list[CheckSpec]]:
        for name in checks:
            if name != "*" and not re.match(_COLUMN, name):
                raise ValueError(f"checks: {name!r} is not a table name (or '*')")
        return checks

    def checks_for(self, table: str) -> list[CheckSpec]:
        """The checks of ``table`` (its name without namespace): its own, then those of ``*``.

        ``*`` covers the tables the source's resources land in, not the nested tables dlt
        makes for their lists (``orders__items``).
        """
        own = list(self.checks.get(table, []))
        if "__" in table:
            return own
        return own + list(self.checks.get("*", []))

    @model_validator(mode="after")
    def _merge_keys(self) -> Self:
        dest = self.destination
        if dest.write_mode == "merge" and not dest.primary_key and self.type not in _KEYS_IN_CONFIG:
            raise ValueError("destination: write_mode 'merge' needs a primary_key")
        return self

    @model_validator(mode="after")
    def _windows_replace_only_themselves(self) -> Self:
        if self.partitions is not None and self.destination.write_mode == "replace":
            raise ValueError(
                "partitions: a partitioned source replaces one window per run; write_mode "
                "'replace' would replace the whole table each time (use append or merge)"
            )
        return self

    @model_validator(mode="after")
    def _automation_needs_a_schedule(self) -> Self:
        if self.automation == "on_cron" and not self.schedule:
            raise ValueError("automation 'on_cron' needs a schedule (a cron expression)")
        return self

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return _check_cron(value)


class IngestionSpec(BaseModel):
    model_config = _FROZEN

    plugin: str = "dlt"
    pipelines_dir: str | None = None
    sources: list[SourceSpec] = Field(default_factory=list)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceSpec]) -> list[SourceSpec]:
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise ValueError(f"duplicate source name {source.name!r}")
            seen.add(source.name)
        return sources

    def source(self, name: str) -> SourceSpec:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)


class FloeSpec(BaseModel):
    """A whole ``floe.yaml``."""

    model_config = _FROZEN

    catalog: CatalogSpec = Field(default_factory=CatalogSpec)
    storage: StorageSpec = Field(default_factory=StorageSpec)
    retry: RetrySpec = Field(default_factory=RetrySpec)
    ingestion: IngestionSpec = Field(default_factory=IngestionSpec)
    maintenance: MaintenanceSpec = Field(default_factory=MaintenanceSpec)

    def maintenance_of(self, source: str) -> MaintenanceSpec:
        """The maintenance policy of ``source``'s tables: the project's, with the source's own
        keys in place of the project's."""
        return self.maintenance.overridden_by(self.ingestion.source(source).maintenance)
