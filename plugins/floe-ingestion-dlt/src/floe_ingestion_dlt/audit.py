"""Which checks a load runs, and what their results mean for the load."""

from __future__ import annotations

from collections.abc import Sequence

from floe_core.spec import CheckSpec, SourceSpec

from floe_ingestion_dlt.config import pipeline_name
from floe_ingestion_dlt.errors import AuditFailedError
from floe_ingestion_dlt.types import CheckResult, DestinationSettings, DestinationType

__all__ = [
    "audit_error",
    "branch_name",
    "row_count_result",
    "run_table_checks",
    "untouched_row_counts",
]


def branch_name(load_id: str) -> str:
    """The Iceberg branch a load commits to under ``publish: audit``."""
    return f"audit-{load_id}"


def row_count_result(name: str, check: CheckSpec, rows: int) -> CheckResult:
    """``check`` (a ``row_count``) of table ``name`` when the load brought it ``rows`` rows."""
    assert check.row_count is not None
    low, high = check.row_count.min, check.row_count.max
    inside = (low is None or rows >= low) and (high is None or rows <= high)
    detail = f"the load brought {rows:,} rows"
    return CheckResult(name, check.label, check.severity, inside, detail=detail)


def untouched_row_counts(source: SourceSpec, tables: Sequence[str]) -> tuple[CheckResult, ...]:
    """The ``row_count`` checks of ``tables`` (``namespace.table``), which the load brought no
    rows to (dlt writes nothing to a table without rows; its other checks do not run)."""
    return tuple(
        row_count_result(name, check, 0)
        for name in tables
        for check in source.checks_for(name.rpartition(".")[2])
        if check.row_count is not None
    )


def run_table_checks(
    destination: DestinationType,
    settings: DestinationSettings,
    source: SourceSpec,
    tables: Sequence[str],
    *,
    branch: str | None = None,
) -> tuple[CheckResult, ...]:
    """Run the checks ``source`` declares for each of ``tables`` (``namespace.table``)."""
    results: list[CheckResult] = []
    for name in tables:
        checks = source.checks_for(name.rpartition(".")[2])
        if checks:
            results += destination.run_checks(
                settings, name, checks, source.destination.primary_keys, branch=branch
            )
    return tuple(results)


def audit_error(
    source: SourceSpec, results: Sequence[CheckResult], *, kept_on: str | None = None
) -> AuditFailedError | None:
    """The error of a load whose error checks failed (``None`` when none did): a first line
    saying what happened to the rows, then one line per failed check."""
    failed = [r for r in results if r.blocking]
    if not failed:
        return None
    target = source.destination.target
    count = f"{len(failed)} error check{'s' if len(failed) > 1 else ''} failed"
    if kept_on is None:
        fate = "the rows stay published (publish: direct)"
    else:
        fate = f"main is unchanged; the load is kept on branch {kept_on!r}"
    lines = [f"source {source.name!r} ({source.type}) -> {target}: {count}; {fate}"]
    lines += [f"  {r.line()}" for r in failed]
    return AuditFailedError(
        "\n".join(lines),
        source_type=source.type,
        destination_table=target,
        pipeline_name=pipeline_name(source),
    )
