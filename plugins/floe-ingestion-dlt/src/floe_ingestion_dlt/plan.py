"""``floe ingest plan``: what a run of a source would do, read from floe.yaml, the pipeline's
stored state, the source (counts and column types, no rows) and the catalog, changing none."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from floe_core.layout import TableLayout
from floe_core.spec import SourceSpec
from pydantic import BaseModel

from floe_ingestion_dlt.config import cursor_field, pipeline_name
from floe_ingestion_dlt.schema_diff import DiffRow, contract_filters, diff_rows
from floe_ingestion_dlt.types import (
    DestinationSettings,
    DestinationType,
    ReadPreview,
    SourceContext,
    SourceType,
    TableState,
)

__all__ = ["PREVIEW_TIMEOUT_SECONDS", "SourcePlan", "TablePlan", "plan_source", "table_name_of"]

#: How long the source may take to connect and to answer each count
PREVIEW_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class TablePlan:
    """What a run would do to one table."""

    table: str  # namespace.table
    resource: str
    state: TableState | None  # None: the run creates the table
    cursor_field: str | None
    reads_after: Any  # the stored cursor value; None: from the start (or not incremental)
    checks: tuple[str, ...]
    schema_contract: str = "evolve"
    preview: ReadPreview | None = None  # None: the source cannot tell without reading
    unknown_reads: str = ""  # why the reads are unknown
    layout: TableLayout = field(default_factory=TableLayout)

    #: the columns a run would change, with what becomes of each
    diff: tuple[DiffRow, ...] = ()

    @property
    def refusals(self) -> tuple[str, ...]:
        """One line per reason the run would be refused, naming table and column."""
        lines = [row.refusal(self.table) for row in self.diff if row.refused]
        if self.state is not None:
            if self.state.layout_refused:
                lines.append(self.state.layout_refused)
        elif self.preview is not None and self.preview.schema is not None:
            names = set(self.preview.schema.names)
            terms = [t.column for t in self.layout.partition_by + self.layout.sort_by]
            lines += [
                f"table {self.table}: destination.partition_by/sort_by: no column {column!r}"
                for column in terms
                if column not in names
            ]
        return tuple(lines)

    def as_dict(self) -> dict[str, Any]:
        state = self.state
        preview = self.preview
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
            "estimate": {
                "rows": preview.rows if preview else None,
                "files": preview.files if preview else None,
                "bytes": preview.bytes if preview else None,
                "how": preview.how if preview else self.unknown_reads,
            },
            "schema_diff": [row.as_dict() for row in self.diff],
            "new_columns": _new_columns(self),
            "layout_changes": list(state.layout_changes) if state else _new_layout(self),
            "checks": list(self.checks),
            "refused": list(self.refusals),
        }


def _new_columns(plan: TablePlan) -> list[str] | None:
    """The columns a run creating the table gives it (``None``: known only by reading)."""
    if plan.state is not None or plan.preview is None or plan.preview.schema is None:
        return None
    return [f"{field.name} {field.type}" for field in plan.preview.schema]


def _new_layout(plan: TablePlan) -> list[str]:
    layout = plan.layout
    lines = [f"partition_by: add {_spelled(t)}" for t in layout.partition_by]
    if layout.sort_by:
        lines.append(f"sort_by: {', '.join(t.column for t in layout.sort_by)}")
    return lines


def _spelled(term: Any) -> str:
    if term.transform == "identity":
        return str(term.column)
    size = f"{term.size}, " if term.size is not None else ""
    return f"{term.transform}({size}{term.column})"


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
    source_error: str = ""  # the source could not be asked (unreachable, refused)

    @property
    def refusals(self) -> tuple[str, ...]:
        """Why the run would be refused or fail, one line each; empty: it would succeed as
        far as can be told."""
        found = [f"source {self.source}: {self.source_error}"] if self.source_error else []
        return tuple(found + [line for t in self.tables for line in t.refusals])

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "source_type": self.source_type,
            "write_mode": self.write_mode,
            "merge_strategy": self.merge_strategy,
            "publish": self.publish,
            "schema_contract": self.schema_contract,
            "pending_loads": list(self.pending_loads),
            "source_error": self.source_error or None,
            "would_succeed": not self.refusals,
            "refused": list(self.refusals),
            "tables": [t.as_dict() for t in self.tables],
        }


def table_name_of(source: SourceSpec, resource: str) -> str:
    """The ``namespace.table`` a resource of ``source`` lands in (dlt's naming applied)."""
    from floe_ingestion_dlt._dlt_adapter import naming

    if source.destination.table:
        return source.destination.table
    table = naming().normalize_table_identifier(resource)
    return f"{source.destination.namespace_name}.{table}"


def _last_value(state: dict[str, Any], resource: str, cursor: str | None) -> tuple[Any, Any]:
    """The stored (cursor, last value) of ``resource``; with no ``cursor`` named, the one
    incremental cursor the source keeps for it (a file source's modification date)."""
    for source_state in (state.get("sources") or {}).values():
        resources = source_state.get("resources") or {}
        # a resource piped from another (files | reader) keeps its cursor in the state of the
        # first step, which dlt names ``<step>_<resource>``
        piped = [k for k in resources if k.endswith(f"_{resource}")]
        key = resource if resource in resources or len(piped) != 1 else piped[0]
        kept = (resources.get(key) or {}).get("incremental") or {}
        name = cursor if cursor is not None else (next(iter(kept)) if len(kept) == 1 else None)
        found = kept.get(name) if name is not None else None
        if isinstance(found, dict):
            return name, found.get("last_value")
    return cursor, None


def plan_source(
    source: SourceSpec,
    resources: list[str],
    source_type: SourceType,
    source_config: BaseModel,
    context: SourceContext,
    destination: DestinationType,
    settings: DestinationSettings,
    pipelines_dir: Path,
) -> SourcePlan:
    """The plan of ``source`` for its ``resources``."""
    from floe_ingestion_dlt._dlt_adapter import pending_load_ids, stored_schema, stored_state
    from floe_ingestion_dlt.loading import redact, secret_values

    name = pipeline_name(source)
    state = stored_state(pipelines_dir, name)
    cursors = {r: _last_value(state, r, cursor_field(source)) for r in resources}
    after = {r: value for r, (_, value) in cursors.items() if value is not None}
    error = ""
    try:
        previews = source_type.preview(source_config, context, after, PREVIEW_TIMEOUT_SECONDS)
    except Exception as exc:  # the plan says why; the run would meet the same
        cause = getattr(exc, "orig", None) or exc  # a database driver's own error
        text = str(cause).splitlines()
        detail = f"{type(cause).__name__}: {text[0] if text else ''}"
        error = "cannot be asked: " + redact(detail, secret_values(source.config))[:300]
        previews = {}
    dest = source.destination
    layout = TableLayout.parse(dest.partition_by, dest.sort_by)
    unknown = error or f"unknown: a {source.type} source cannot tell without reading"
    schema = stored_schema(pipelines_dir, name)
    tables = []
    for resource in resources:
        table = table_name_of(source, resource)
        preview = previews.get(resource)
        incoming = preview.schema if preview is not None else None
        now = destination.describe_table(settings, table, incoming, layout)
        columns = preview.columns if preview is not None else None
        bare = table.rpartition(".")[2]
        contract = contract_filters(schema, bare, columns, dest.schema_contract)
        changes = now.column_changes if now is not None else ()
        tables.append(
            TablePlan(
                table=table,
                resource=resource,
                state=now,
                diff=diff_rows(changes, contract, dest.schema_contract, schema, bare, columns),
                cursor_field=cursors[resource][0],
                reads_after=cursors[resource][1],
                checks=tuple(
                    f"{c.label} [{c.severity}]" for c in source.checks_for(table.rpartition(".")[2])
                ),
                schema_contract=dest.schema_contract,
                preview=preview,
                unknown_reads=unknown,
                layout=layout,
            )
        )
    return SourcePlan(
        source=source.name,
        source_type=source.type,
        write_mode=dest.write_mode,
        merge_strategy=dest.merge_strategy if dest.write_mode == "merge" else None,
        publish=dest.publish,
        schema_contract=dest.schema_contract,
        pending_loads=tuple(pending_load_ids(pipelines_dir, name)),
        tables=tuple(tables),
        source_error=error,
    )
