"""Which checks a load runs, and what their results mean for the load."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from floe_core.spec import CheckSpec, SourceSpec

from floe_ingestion_dlt.config import pipeline_name
from floe_ingestion_dlt.errors import AuditFailedError, PipelineConfigurationError
from floe_ingestion_dlt.outcome import LoadOutcome
from floe_ingestion_dlt.types import CheckResult, DestinationSettings, DestinationType

__all__ = [
    "audit_error",
    "branch_name",
    "checked",
    "row_count_result",
    "run_table_checks",
    "source_of_table",
    "untouched_row_counts",
]


def branch_name(load_id: str) -> str:
    """The Iceberg branch a load commits to under ``publish: audit``."""
    return f"audit-{load_id}"


def row_count_result(name: str, check: CheckSpec, rows: int) -> CheckResult:
    """``check`` (a ``row_count``) of table ``name`` when the load brought it ``rows`` rows."""
    assert check.row_count is not None  # nosec B101  # narrows the type; checked upstream
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
    if kept_on is None and source.destination.publish == "audit":
        fate = "the tables it brought no rows to had nothing to hold back"
    elif kept_on is None:
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


def checked(
    outcome: LoadOutcome,
    source: SourceSpec,
    destination: DestinationType,
    settings: DestinationSettings,
    loaded: Sequence[str],
) -> LoadOutcome:
    """``outcome`` of a load that succeeded, with its checks.

    Under ``publish: audit`` the destination ran them before publishing. Under ``direct`` they
    run now on the tables the load committed. Either way the ``row_count`` checks of the
    ``loaded`` tables (``namespace.table``) it brought no rows to are judged on 0 rows (no
    snapshot was made to audit): an error check that fails fails the load; the rows of the
    other tables stay published.
    """
    committed = [t.table for t in outcome.tables if t.snapshot_id is not None]
    if source.destination.publish == "audit":
        results = destination.audit_results(outcome.load_ids)
        audited = committed + [r.table for r in results]
        untouched = untouched_row_counts(source, [t for t in loaded if t not in audited])
        error = audit_error(source, untouched)
        results += untouched
        if error is None:
            return replace(outcome, checks=results)
        return replace(outcome, checks=results, status="failed", error=error)
    if not source.checks:
        return outcome
    results = run_table_checks(destination, settings, source, committed)
    results += untouched_row_counts(source, [t for t in loaded if t not in committed])
    error = audit_error(source, results)
    if error is None:
        return replace(outcome, checks=results)
    return replace(outcome, checks=results, status="failed", error=error)


def source_of_table(
    sources: Sequence[SourceSpec], table: str, history: Sequence[dict[str, Any]]
) -> SourceSpec:
    """The source whose checks apply to ``namespace.table``: the one whose load made its
    latest snapshot (its ``history`` names it), else the one whose destination names it.

    Raises:
        PipelineConfigurationError: no source of the project loads the table.
    """
    namespace, _, name = table.rpartition(".")
    landed = next((h.get("source") for h in reversed(history) if h.get("source")), None)
    for source in sources:
        if source.name == landed:
            return source
    for source in sources:
        dest = source.destination
        if dest.table == table or (dest.namespace == namespace and name in source.checks):
            return source
    raise PipelineConfigurationError(
        f"table {table!r} was not loaded by a source of this project: no checks to run"
    )
