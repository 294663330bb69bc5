"""Applying floe's destination settings (write mode, keys, contract) to dlt sources and runs."""

from __future__ import annotations

from typing import Any

from floe_core.spec import MergeStrategy, SchemaContract, WriteMode

from floe_ingestion_dlt.types import DltSource, SourceContext

__all__ = ["UNIQUE_KEYS_HINT", "apply_destination_hints", "schema_contract", "write_disposition"]

#: A table hint a source sets when no two rows of one load can share the merge keys (a SQL
#: table whose primary key is among them): the destination then skips looking for a key twice.
UNIQUE_KEYS_HINT = "x-floe-unique-keys"


def write_disposition(write_mode: WriteMode, merge_strategy: MergeStrategy = "upsert") -> Any:
    """dlt's write disposition for a floe write mode."""
    if write_mode == "merge":
        return {"disposition": "merge", "strategy": merge_strategy}
    return write_mode


def schema_contract(mode: SchemaContract) -> dict[str, str]:
    """dlt's schema contract for a floe mode. New tables may always be created; the contract
    governs columns and data types of tables that exist."""
    return {"tables": "evolve", "columns": mode, "data_type": mode}


def apply_destination_hints(
    source: DltSource, context: SourceContext, *, keep_resource_dispositions: bool = False
) -> DltSource:
    """Set write disposition and primary key on every selected resource of ``source``.

    With ``keep_resource_dispositions``, resources whose config set their own write disposition
    keep it (REST resources may, for example).
    """
    resources = getattr(source, "selected_resources", None)
    items = list(resources.values()) if resources is not None else [source]
    disposition = write_disposition(context.write_mode, context.merge_strategy)
    for resource in items:
        hints: dict[str, Any] = {}
        if not (keep_resource_dispositions and resource.write_disposition != "append"):
            hints["write_disposition"] = disposition
        if context.primary_key:
            hints["primary_key"] = context.primary_key
        if context.table_name:
            hints["table_name"] = context.table_name
        if hints:
            resource.apply_hints(**hints)
    return source
