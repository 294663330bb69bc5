"""The Iceberg destination: dlt's filesystem destination, Iceberg format, an explicit catalog."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from floe_core.health import HealthState, HealthStatus
from floe_core.layout import TableLayout
from floe_core.spec import CheckSpec, MaintenanceSpec, SourceSpec
from floe_ingestion_dlt.types import (
    CheckResult,
    ColumnWindow,
    DestinationSettings,
    DestinationType,
    DltDestination,
    MaintenanceReport,
    TableCommit,
    TableState,
    TableStats,
)

from floe_dlt_destination_iceberg.catalog import (
    catalog_from,
    catalog_properties,
    ensure_namespace,
    open_catalog,
    state_url,
    warehouse_url,
)
from floe_dlt_destination_iceberg.writer import (
    CONFLICTS_PROPERTY,
    LOAD_ID_PROPERTY,
    ROWS_PROPERTY,
)

__all__ = ["IcebergDestination"]

_INSTALL = "pip install floe-dlt-destination-iceberg"


def _split(name: str) -> tuple[str, str]:
    namespace, sep, table = name.rpartition(".")
    if not sep or not namespace or not table:
        raise ValueError(f"table name must be 'namespace.table', got {name!r}")
    return namespace, table


class IcebergDestination(DestinationType):
    """Writes Iceberg tables through a pyiceberg SQL or REST catalog."""

    name = "iceberg"

    def check_imports(self) -> None:
        for module in ("pyiceberg", "pyarrow", "dlt.destinations.impl.filesystem"):
            try:
                __import__(module)
            except ImportError as exc:
                raise ImportError(f"{module} is missing: {_INSTALL}") from exc

    def destination_config(self, settings: DestinationSettings) -> dict[str, Any]:
        return {
            "destination": "filesystem",
            "table_format": "iceberg",
            "bucket_url": state_url(settings),
            "warehouse": warehouse_url(settings),
            "iceberg_catalog_name": settings.catalog.name,
            "iceberg_catalog_type": settings.catalog.type,
            "iceberg_catalog_config": catalog_properties(settings),
        }

    def build(
        self,
        settings: DestinationSettings,
        lineage: dict[str, str] | None = None,
        window: ColumnWindow | None = None,
        layout: TableLayout | None = None,
        audit: SourceSpec | None = None,
    ) -> DltDestination:
        from floe_dlt_destination_iceberg.client import floe_iceberg

        # No catalog call here: building must not need the catalog up. ``prepare`` opens it
        # (creating a SQL catalog's own tables) before every run, inside the retry.
        config = self.destination_config(settings)
        credentials: dict[str, Any] | None = None
        s3 = settings.storage.s3
        if s3 is not None and config["bucket_url"].startswith("s3://"):
            credentials = {
                "aws_access_key_id": s3.access_key_id,
                "aws_secret_access_key": s3.secret_access_key.get_secret_value()
                if s3.secret_access_key
                else None,
                "endpoint_url": s3.endpoint,
                "region_name": s3.region,
            }
        factory = floe_iceberg.configured(
            config["iceberg_catalog_name"],
            config["iceberg_catalog_config"],
            lineage or {},
            window,
            layout or TableLayout(),
            audit,
        )
        return factory(bucket_url=config["bucket_url"], credentials=credentials)

    def prepare(self, settings: DestinationSettings, namespace: str) -> None:
        """Create the namespace once, before dlt's parallel load jobs race to do it."""
        with open_catalog(settings) as catalog:
            ensure_namespace(catalog, namespace)

    def run_options(self) -> dict[str, Any]:
        return {"table_format": "iceberg", "loader_file_format": "parquet"}

    def empty_window(
        self,
        settings: DestinationSettings,
        tables: Sequence[str],
        window: ColumnWindow,
        properties: dict[str, str],
    ) -> None:
        """Delete the window's rows of each table that exists (one commit per table that has
        rows there)."""
        from floe_ingestion_dlt._dlt_adapter import naming
        from pyiceberg.exceptions import NoSuchTableError

        from floe_dlt_destination_iceberg.writer import window_filter

        column = naming().normalize_identifier(window.column)
        with open_catalog(settings) as catalog:
            for name in tables:
                try:
                    table = catalog.load_table(_split(name))
                except NoSuchTableError:
                    continue
                inside = window_filter(table, ColumnWindow(column, window.start, window.end))
                if table.current_snapshot() is not None:
                    table.delete(inside, snapshot_properties=properties)

    def committed(
        self, settings: DestinationSettings, tables: Sequence[str], load_ids: Sequence[str]
    ) -> dict[str, TableCommit]:
        """Rows and snapshot of each table's snapshots tagged with one of ``load_ids``."""
        if not tables or not load_ids:
            return {}
        with open_catalog(settings) as catalog:
            wanted = set(load_ids)
            found: dict[str, TableCommit] = {}
            for name in tables:
                table = catalog.load_table(_split(name))
                last: dict[str, Any] = {}  # load id -> its last snapshot on the table
                for snapshot in table.metadata.snapshots:
                    summary = snapshot.summary
                    load_id = summary.get(LOAD_ID_PROPERTY) if summary is not None else None
                    if load_id in wanted:
                        last[load_id] = snapshot
                if last:
                    newest = max(last.values(), key=lambda s: (s.timestamp_ms, s.sequence_number))
                    rows = sum(int(s.summary.get(ROWS_PROPERTY, 0) or 0) for s in last.values())
                    columns = tuple((f.name, str(f.field_type)) for f in table.schema().fields)
                    conflicts = sum(
                        int(s.summary.get(CONFLICTS_PROPERTY, 0) or 0) for s in last.values()
                    )
                    found[name] = TableCommit(rows, newest.snapshot_id, columns, conflicts)
        return found

    def health_check(self, settings: DestinationSettings, timeout: float) -> HealthStatus:
        started = time.perf_counter()
        with open_catalog(settings) as catalog:
            namespaces = catalog.list_namespaces()
        return HealthStatus(
            HealthState.HEALTHY,
            f"{settings.catalog.type} catalog {settings.catalog.name!r} answers "
            f"({len(namespaces)} namespaces)",
            {"catalog_ms": round((time.perf_counter() - started) * 1000, 3)},
        )

    def storage_health(self, settings: DestinationSettings, timeout: float) -> HealthStatus | None:
        """Ask S3 for an object under the state location (or the warehouse): a missing object
        is an answer; a refused connection, a timeout or a denied request is not."""
        if settings.storage.s3 is None:
            return None
        location = next(
            (u for u in (state_url(settings), warehouse_url(settings)) if u.startswith("s3://")),
            None,
        )
        if location is None:
            return None
        from pyiceberg.io import load_file_io

        started = time.perf_counter()
        properties = {
            **{k: v for k, v in catalog_properties(settings).items() if k.startswith("s3.")},
            "s3.connect-timeout": str(timeout),
            "s3.request-timeout": str(timeout),
        }
        io = load_file_io(properties, location)
        io.new_input(f"{location.rstrip('/')}/_floe_health_check").exists()
        return HealthStatus(
            HealthState.HEALTHY,
            f"s3 answers for {location}",
            {"storage_ms": round((time.perf_counter() - started) * 1000, 3)},
        )

    def list_tables(self, settings: DestinationSettings) -> list[str]:
        names = []
        with open_catalog(settings) as catalog:
            for namespace in catalog.list_namespaces():
                for identifier in catalog.list_tables(namespace):
                    names.append(".".join(identifier))
        return sorted(names)

    def read_table(self, settings: DestinationSettings, name: str, limit: int | None = None) -> Any:
        from floe_dlt_destination_iceberg._pyiceberg_adapter import keep_nested_nulls

        keep_nested_nulls()  # a NULL list of structs reads as NULL, not as an empty list
        table = open_catalog(settings).load_table(_split(name))
        return table.scan(limit=limit).to_arrow()

    def table_history(self, settings: DestinationSettings, name: str) -> list[dict[str, Any]]:
        with open_catalog(settings) as catalog:
            table = catalog.load_table(_split(name))
        history = []
        for snapshot in table.metadata.snapshots:
            summary = snapshot.summary
            history.append(
                {
                    "snapshot_id": snapshot.snapshot_id,
                    "timestamp_ms": snapshot.timestamp_ms,
                    "operation": summary.operation.value if summary else "",
                    "added_records": int(summary.get("added-records", 0) or 0) if summary else 0,
                    "total_records": int(summary.get("total-records", 0) or 0) if summary else 0,
                    "source": summary.get("floe.source", "") if summary else "",
                    "pipeline": summary.get("floe.pipeline", "") if summary else "",
                    "load_id": summary.get(LOAD_ID_PROPERTY, "") if summary else "",
                }
            )
        return history

    def maintain(
        self,
        settings: DestinationSettings,
        name: str,
        policy: MaintenanceSpec,
        *,
        dry_run: bool = False,
    ) -> MaintenanceReport:
        from floe_dlt_destination_iceberg.maintenance import maintain_table

        table = open_catalog(settings).load_table(_split(name))
        return maintain_table(table, name, policy, dry_run=dry_run)

    def table_stats(self, settings: DestinationSettings, name: str) -> TableStats:
        from floe_dlt_destination_iceberg.maintenance import table_stats

        with open_catalog(settings) as catalog:
            return table_stats(catalog.load_table(_split(name)), name)

    def run_checks(
        self,
        settings: DestinationSettings,
        name: str,
        checks: Sequence[CheckSpec],
        keys: Sequence[str],
        *,
        branch: str | None = None,
    ) -> list[CheckResult]:
        from floe_dlt_destination_iceberg.checks import run_checks

        table = open_catalog(settings).load_table(_split(name))
        return run_checks(table, name, checks, keys, branch=branch)

    def describe_table(
        self,
        settings: DestinationSettings,
        name: str,
        incoming: Any = None,
        layout: TableLayout | None = None,
    ) -> TableState | None:
        from pathlib import Path

        from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

        properties = catalog_properties(settings)
        uri = properties.get("uri", "")
        embedded = properties["type"] == "sql" and uri.startswith("sqlite:///")
        if embedded and not Path(uri.removeprefix("sqlite:///")).exists():
            return None  # opening it would create the embedded catalog
        if properties["type"] == "sql":  # never create a SQL catalog's own tables
            properties = {**properties, "init_catalog_tables": "false"}
        catalog = catalog_from(settings.catalog.name, properties)
        if properties["type"] == "sql" and not _has_catalog_tables(catalog):
            return None
        try:
            table = catalog.load_table(_split(name))
        except (NoSuchTableError, NoSuchNamespaceError):
            return None
        current = table.current_snapshot()
        summary = current.summary if current is not None else None
        state = TableState(
            columns=tuple((f.name, str(f.field_type)) for f in table.schema().fields),
            snapshot_id=current.snapshot_id if current is not None else None,
            rows=int(summary.get("total-records", 0) or 0) if summary is not None else 0,
            branches=tuple(sorted(n for n in table.metadata.refs if n != "main")),
        )
        return _with_changes(state, table, name, incoming, layout)

    def audit_results(self, load_ids: Sequence[str]) -> tuple[CheckResult, ...]:
        from floe_dlt_destination_iceberg.publish import audit_results

        return audit_results(load_ids)

    def publish(self, settings: DestinationSettings, name: str, branch: str) -> int:
        from floe_dlt_destination_iceberg.publish import publish

        return publish(open_catalog(settings).load_table(_split(name)), branch)


def _has_catalog_tables(catalog: Any) -> bool:
    """Whether a SQL catalog's database holds its tables (a new one has none yet)."""
    import sqlalchemy as sa

    return bool(sa.inspect(catalog.engine).has_table("iceberg_tables"))


def _with_changes(
    state: TableState, table: Any, name: str, incoming: Any, layout: TableLayout | None
) -> TableState:
    """``state`` with what a load of columns ``incoming`` under ``layout`` would change, judged
    by the functions the load job itself calls."""
    from dataclasses import replace

    from floe_dlt_destination_iceberg.evolution import column_changes, evolved
    from floe_dlt_destination_iceberg.layout import layout_changes

    changes = column_changes(table, incoming) if incoming is not None else ()
    schema = table.schema()
    if incoming is not None and not any(c.change == "refuse" for c in changes):
        schema = evolved(table, incoming)
    try:
        moved = layout_changes(table, layout or TableLayout(), name, schema)
    except ValueError as exc:
        return replace(state, column_changes=changes, layout_refused=str(exc))
    return replace(state, column_changes=changes, layout_changes=moved)
