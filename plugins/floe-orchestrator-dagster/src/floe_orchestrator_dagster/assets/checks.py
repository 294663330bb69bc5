"""floe.yaml's data checks as Dagster asset checks: one per check and table, on its asset.

The engine runs the checks (after the commit, or before publishing under ``publish: audit``);
this module only names them for Dagster and turns the engine's results into check results.
Error checks are blocking: a failure keeps downstream assets of the run from materializing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
)
from floe_core.spec import CheckSpec, SourceSpec
from floe_ingestion_dlt.types import CheckResult

__all__ = ["DeclaredCheck", "check_results", "declared_checks"]


@dataclass(frozen=True)
class DeclaredCheck:
    """One floe check as one Dagster asset check."""

    asset: AssetKey
    table: str  # namespace.table
    label: str  # the engine's name for it: not_null(id)
    spec: AssetCheckSpec


def _name(check: CheckSpec, taken: set[str]) -> str:
    """A Dagster check name: ``not_null_customer_id``, ``expression`` (numbered if repeated)."""
    columns: list[str] = list(check.not_null or check.unique or [])
    if check.accepted_values is not None:
        columns = [check.accepted_values.column]
    base = re.sub(r"\W+", "_", "_".join([check.kind, *columns]))
    name, number = base, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    taken.add(name)
    return name


def declared_checks(source: SourceSpec, tables: dict[AssetKey, str]) -> list[DeclaredCheck]:
    """The asset checks of ``source``'s assets (``tables``: asset key -> ``namespace.table``)."""
    declared: list[DeclaredCheck] = []
    for asset, table in tables.items():
        taken: set[str] = set()
        for check in source.checks_for(table.rpartition(".")[2]):
            spec = AssetCheckSpec(
                name=_name(check, taken),
                asset=asset,
                description=f"{check.label} on {table} [{check.severity}]",
                blocking=check.severity == "error",
                metadata={"severity": check.severity, "floe_check": check.label},
            )
            declared.append(DeclaredCheck(asset, table, check.label, spec))
    return declared


def check_results(
    declared: Sequence[DeclaredCheck],
    results: Sequence[CheckResult],
    selected: set[AssetCheckKey],
) -> Iterator[AssetCheckResult]:
    """The engine's results of the selected checks, as Dagster check results."""
    remaining = list(results)
    for check in declared:
        if check.spec.key not in selected:
            continue
        found = next(
            (r for r in remaining if r.table == check.table and r.check == check.label), None
        )
        if found is None:
            continue  # the load did not write to this table: nothing was checked
        remaining.remove(found)
        yield AssetCheckResult(
            asset_key=check.asset,
            check_name=check.spec.name,
            passed=found.passed,
            severity=AssetCheckSeverity.ERROR
            if found.severity == "error"
            else AssetCheckSeverity.WARN,
            metadata={
                "failing_rows": MetadataValue.int(found.failing_rows),
                "examples": ", ".join(found.examples),
                "table": found.table,
                "detail": found.detail,
            },
            description=found.line(),
        )
