"""Write-audit-publish on Iceberg branches (``destination.publish: audit``).

A load commits each table to the branch ``audit-<load id>``, made from main just before the
table's one commit (a table with no snapshot yet gets a staged snapshot the branch then names).
Once every table of the load is committed, the source's checks run on each load snapshot; when
every error check passes, main is moved to each of them and the branch is removed, so readers of
main never see rows that were not audited. When one fails, main is left as it was and the
branches stay for inspection (``floe tables publish`` publishes one by hand).

Each step can be repeated after a crash: a table whose main already holds the load (published
before the crash) is audited on main and not published again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from floe_core.spec import SourceSpec
from floe_ingestion_dlt.audit import audit_error, branch_name
from floe_ingestion_dlt.types import CheckResult

from floe_dlt_destination_iceberg.checks import run_checks
from floe_dlt_destination_iceberg.writer import LOAD_ID_PROPERTY, MAIN

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

__all__ = [
    "PublishConflictError",
    "audit_and_publish",
    "audit_results",
    "load_snapshot",
    "name_staged",
    "publish",
    "write_branch",
]

_results: dict[str, tuple[CheckResult, ...]] = {}
_results_lock = threading.Lock()


class PublishConflictError(ValueError):
    """Main moved after the branch was made from it: publishing would drop those commits."""


def write_branch(table: Table, branch: str) -> str | None:
    """The branch a load writes ``table`` to: ``branch``, made at main's current snapshot unless
    it exists (a retried write); ``None`` (a staged snapshot, see :func:`name_staged`) when main
    has no snapshot, since Iceberg starts a table's history on main only."""
    current = table.current_snapshot()
    if branch in table.metadata.refs:
        return branch
    if current is None:
        return None
    table.manage_snapshots().create_branch(current.snapshot_id, branch).commit()
    return branch


def load_snapshot(table: Table, load_id: str) -> Snapshot | None:
    """The snapshot load ``load_id`` committed to ``table`` (one per table per load)."""
    tagged = [
        s
        for s in table.metadata.snapshots
        if s.summary is not None and s.summary.get(LOAD_ID_PROPERTY) == load_id
    ]
    return max(tagged, key=lambda s: (s.sequence_number or 0, s.timestamp_ms)) if tagged else None


def name_staged(table: Table, load_id: str, branch: str) -> None:
    """Point ``branch`` at the snapshot ``load_id`` staged on no branch, if none does yet."""
    snapshot = load_snapshot(table, load_id)
    if snapshot is not None and branch not in table.metadata.refs:
        table.manage_snapshots().create_branch(snapshot.snapshot_id, branch).commit()


def publish(table: Table, branch: str) -> int:
    """Move main to the head of the kept ``branch`` and remove it; returns the snapshot id.

    Raises:
        PublishConflictError: main has commits the branch does not have.
        ValueError: the table has no branch ``branch``.
    """
    head = table.snapshot_by_name(branch)
    if head is None or branch == MAIN:
        raise ValueError(f"table {'.'.join(table.name())!r} has no branch {branch!r}")
    _move_main(table, head, branch)
    return head.snapshot_id


def _move_main(table: Table, snapshot: Snapshot, branch: str) -> None:
    """Main to ``snapshot`` (which must descend from main) and ``branch`` removed, in one
    commit that fails if main moved meanwhile."""
    from pyiceberg.table.snapshots import ancestors_of

    main = table.current_snapshot()
    if main is not None and main.snapshot_id not in {
        s.snapshot_id for s in ancestors_of(snapshot, table.metadata)
    }:
        raise PublishConflictError(
            f"cannot publish {branch!r} of {'.'.join(table.name())}: main has commits the "
            "load does not have (it moved after the load began); load again"
        )
    update = table.manage_snapshots().set_current_snapshot(snapshot.snapshot_id)
    if branch in table.metadata.refs:
        update = update.remove_branch(branch)
    update.commit()


def audit_and_publish(
    catalog: Catalog, namespace: str, tables: Iterable[str], source: SourceSpec, load_id: str
) -> tuple[CheckResult, ...]:
    """Audit the load ``load_id`` of ``tables`` (names in ``namespace``) and publish it.

    Raises:
        AuditFailedError: an error check failed; main is untouched, the branches are kept.
    """
    from pyiceberg.exceptions import NoSuchTableError

    branch = branch_name(load_id)
    keys = source.destination.primary_keys
    results: list[CheckResult] = []
    pending: list[tuple[Table, Snapshot]] = []
    for name in tables:
        try:
            table = catalog.load_table((namespace, name))
        except NoSuchTableError:
            continue
        snapshot = load_snapshot(table, load_id)
        if snapshot is None:
            continue  # the load did not write to this table
        checks = source.checks_for(name)
        full = f"{namespace}.{name}"
        results += run_checks(table, full, checks, keys, snapshot_id=snapshot.snapshot_id)
        current = table.current_snapshot()
        if current is None or current.snapshot_id != snapshot.snapshot_id:
            pending.append((table, snapshot))  # not published before a crash
    error = audit_error(source, results, kept_on=branch)
    if error is not None:
        for table, _ in pending:
            name_staged(table, load_id, branch)
        error.results = tuple(results)
        raise error
    for table, snapshot in pending:
        _move_main(table, snapshot, branch)
    with _results_lock:
        _results[load_id] = tuple(results)
    return tuple(results)


def audit_results(load_ids: Iterable[str]) -> tuple[CheckResult, ...]:
    """The check results of the loads ``load_ids`` this process audited and published."""
    found: list[CheckResult] = []
    with _results_lock:
        for load_id in load_ids:
            found += _results.pop(load_id, ())
    return tuple(found)
