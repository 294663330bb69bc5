"""``floe ingest plan``: what a run of a source would do, read from floe.yaml, the pipeline's
stored state and the catalog, changing none of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floe_core.spec import SourceSpec

from floe_ingestion_dlt.config import cursor_field, pipeline_name
from floe_ingestion_dlt.types import DestinationSettings, DestinationType, TableState

__all__ = ["SourcePlan", "TablePlan", "plan_source", "table_name_of"]


@dataclass(frozen=True)
class TablePlan:
    """What a run would do to one table."""

    table: str  # namespace.table
    resource: str
    state: TableState | None  # None: the run creates the table
    cursor_field: str | None
    reads_after: Any  # the stored cursor value; None: from the start (or not incremental)
    checks: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        state = self.state
        return {
            "table": self.table,
            "resource": self.resource,
            "exists": state is not None,
            "snapshot_id": state.snapshot_id if state else None,
            "rows": state.rows if state else 0,
            "columns": len(state.columns) if state else 0,
            "kept_audit_branches": list(state.branches) if state else [],
            "cursor_field": self.cursor_field,
            "reads_after": None if self.reads_after is None else str(self.reads_after),
            "checks": list(self.checks),
        }


@dataclass(frozen=True)
class SourcePlan:
    """What a run of one source would do."""

    source: str
    source_type: str
    write_mode: str
    merge_strategy: str | None
    publish: str
    schema_contract: str
    pending_loads: tuple[str, ...]  # a run finishes these first, then stops
    tables: tuple[TablePlan, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "source_type": self.source_type,
            "write_mode": self.write_mode,
            "merge_strategy": self.merge_strategy,
            "publish": self.publish,
            "schema_contract": self.schema_contract,
            "pending_loads": list(self.pending_loads),
            "tables": [t.as_dict() for t in self.tables],
        }


def table_name_of(source: SourceSpec, resource: str) -> str:
    """The ``namespace.table`` a resource of ``source`` lands in (dlt's naming applied)."""
    from floe_ingestion_dlt._dlt_adapter import naming

    if source.destination.table:
        return source.destination.table
    table = naming().normalize_table_identifier(resource)
    return f"{source.destination.namespace_name}.{table}"


def _last_value(state: dict[str, Any], resource: str, cursor: str | None) -> Any:
    if cursor is None:
        return None
    for source_state in (state.get("sources") or {}).values():
        resources = source_state.get("resources") or {}
        found = ((resources.get(resource) or {}).get("incremental") or {}).get(cursor)
        if isinstance(found, dict):
            return found.get("last_value")
    return None


def plan_source(
    source: SourceSpec,
    resources: list[str],
    destination: DestinationType,
    settings: DestinationSettings,
    pipelines_dir: Path,
) -> SourcePlan:
    """The plan of ``source`` for its ``resources``."""
    from floe_ingestion_dlt._dlt_adapter import pending_load_ids, stored_state

    name = pipeline_name(source)
    state = stored_state(pipelines_dir, name)
    cursor = cursor_field(source)
    tables = []
    for resource in resources:
        table = table_name_of(source, resource)
        tables.append(
            TablePlan(
                table=table,
                resource=resource,
                state=destination.describe_table(settings, table),
                cursor_field=cursor,
                reads_after=_last_value(state, resource, cursor),
                checks=tuple(
                    f"{c.label} [{c.severity}]" for c in source.checks_for(table.rpartition(".")[2])
                ),
            )
        )
    dest = source.destination
    return SourcePlan(
        source=source.name,
        source_type=source.type,
        write_mode=dest.write_mode,
        merge_strategy=dest.merge_strategy if dest.write_mode == "merge" else None,
        publish=dest.publish,
        schema_contract=dest.schema_contract,
        pending_loads=tuple(pending_load_ids(pipelines_dir, name)),
        tables=tuple(tables),
    )
