"""Keeping an Iceberg table healthy: compaction, snapshot expiry, orphan-file removal, stats.

pyiceberg expires snapshots in the metadata only; the files that only expired snapshots
referenced are deleted here, after the expiry committed, and only those no snapshot of the
refreshed table references. Orphan removal lists the table's location through fsspec (local disk
and S3 alike, configured from the table's FileIO properties) and deletes a file only when it is
older than the threshold and nothing live references it: no snapshot (so no branch or tag), no
metadata file of the table's log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from floe_core.spec import (
    ExpireSnapshotsSpec,
    MaintenanceSpec,
    RemoveOrphanFilesSpec,
    duration_of,
)
from floe_ingestion_dlt.errors import MaintenanceError
from floe_ingestion_dlt.observability import get_logger
from floe_ingestion_dlt.types import MaintenanceReport, TableStats

from floe_dlt_destination_iceberg._pyiceberg_adapter import expire_snapshot_ids
from floe_dlt_destination_iceberg.compaction import plan_compaction

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

__all__ = ["LAST_MAINTENANCE_PROPERTY", "maintain_table", "table_stats"]

#: Table property: when floe last maintained the table (ISO 8601, UTC).
LAST_MAINTENANCE_PROPERTY = "floe.last-maintenance"


def maintain_table(
    table: Table,
    name: str,
    policy: MaintenanceSpec,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> MaintenanceReport:
    """Run ``policy`` on ``table``: compact, then expire snapshots, then remove orphan files.

    Raises:
        MaintenanceError: a step failed (one line naming table, step and cause; its ``report``
            says what the steps before it did, which stays committed).
    """
    now = now or datetime.now(UTC)
    log = get_logger().bind(table=name, dry_run=dry_run)
    report = MaintenanceReport(table=name, dry_run=dry_run)
    step = "compaction"
    try:
        if policy.compact is not None:
            plan = plan_compaction(table, policy.compact)
            outcome = "nothing to compact"
            if plan.bins and not dry_run:
                plan.write()
                outcome = plan.commit()
            elif plan.bins:
                outcome = f"would rewrite {plan.input_files} files into {len(plan.bins)}"
            report = replace(
                report,
                data_files_before=plan.data_files_before,
                data_files_after=plan.data_files_after if plan.bins else plan.data_files_before,
                bytes_rewritten=plan.bytes_to_rewrite,
                compaction=outcome,
            )
            log.info("table_compacted", outcome=outcome, files_rewritten=plan.input_files)
        else:
            files = _live_data_files(table)
            report = replace(report, data_files_before=files, data_files_after=files)
        step = "snapshot expiry"
        if policy.expire_snapshots is not None:
            expired, deleted = expire_snapshots(table, policy.expire_snapshots, now, dry_run)
            report = replace(report, snapshots_expired=expired, expired_files_deleted=deleted)
            log.info("snapshots_expired", snapshots=expired, files_deleted=deleted)
        step = "orphan file removal"
        if policy.remove_orphan_files is not None:
            removed = remove_orphan_files(table, policy.remove_orphan_files, now, dry_run)
            report = replace(report, orphan_files_removed=removed)
            log.info("orphan_files_removed", files=removed)
        step = f"setting {LAST_MAINTENANCE_PROPERTY}"
        if not dry_run:
            with table.transaction() as tx:
                tx.set_properties({LAST_MAINTENANCE_PROPERTY: now.isoformat(timespec="seconds")})
    except Exception as exc:
        raise _failed(name, step, exc, report) from exc
    return report


def _failed(name: str, step: str, exc: Exception, done: MaintenanceReport) -> MaintenanceError:
    """``exc`` as a categorized one-line error naming table and step, with what was done."""
    error = MaintenanceError.caused_by(name, exc, step)
    error.report = replace(done, compaction="failed") if step == "compaction" else done
    return error


def expire_snapshots(
    table: Table, spec: ExpireSnapshotsSpec, now: datetime, dry_run: bool
) -> tuple[int, int]:
    """Expire snapshots older than the threshold, keeping every branch and tag head and the
    last ``retain_last`` snapshots of each branch; delete the files only they referenced.

    Returns the number of snapshots expired and of files deleted.
    """
    from pyiceberg.table.refs import SnapshotRefType
    from pyiceberg.table.snapshots import ancestors_of

    table.refresh()
    metadata = table.metadata
    cutoff_ms = int((now - duration_of(spec.older_than)).timestamp() * 1000)
    keep: set[int] = set()
    for ref in metadata.refs.values():
        keep.add(ref.snapshot_id)
        if ref.snapshot_ref_type == SnapshotRefType.BRANCH:
            head = metadata.snapshot_by_id(ref.snapshot_id)
            ancestry = ancestors_of(head, metadata) if head is not None else iter(())
            for _, snapshot in zip(range(spec.retain_last), ancestry, strict=False):
                keep.add(snapshot.snapshot_id)
    expired = [
        s for s in metadata.snapshots if s.timestamp_ms < cutoff_ms and s.snapshot_id not in keep
    ]
    if not expired:
        return 0, 0
    cache: dict[str, set[str]] = {}
    candidates = _referenced(table, expired, cache) - _referenced(
        table, [s for s in metadata.snapshots if s not in expired], cache
    )
    if dry_run:
        return len(expired), len(candidates)
    expire_snapshot_ids(table, [s.snapshot_id for s in expired])
    table.refresh()  # a commit since the plan may reference a candidate: never delete it
    doomed = candidates - _referenced(table, table.metadata.snapshots, cache)
    for path in doomed:
        table.io.delete(path)
    return len(expired), len(doomed)


def remove_orphan_files(
    table: Table, spec: RemoveOrphanFilesSpec, now: datetime, dry_run: bool
) -> int:
    """Delete files under the table's location that nothing references and that are older
    than the threshold (younger ones may belong to a load still writing)."""
    cutoff = now - duration_of(spec.older_than)
    listed = _listing(table)  # listed before the metadata is read: a file committed in between
    table.refresh()  # is then referenced
    referenced = {_key(path) for path in _all_referenced(table)}
    orphans = [
        path for path, modified in listed.items() if modified < cutoff and path not in referenced
    ]
    if not dry_run:
        scheme = urlparse(table.location()).scheme or "file"
        for path in orphans:
            table.io.delete(path if scheme == "file" else f"{scheme}://{path}")
    return len(orphans)


def table_stats(table: Table, name: str) -> TableStats:
    """Data files, bytes, records, snapshots, partitions and delete files of ``table``."""
    from pyiceberg.manifest import DataFileContent

    data_files = data_bytes = records = delete_files = 0
    partitions: set[tuple[int, Any]] = set()
    snapshot = table.current_snapshot()
    for manifest in snapshot.manifests(table.io) if snapshot is not None else ():
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            data_file = entry.data_file
            if data_file.content != DataFileContent.DATA:
                delete_files += 1
                continue
            data_files += 1
            data_bytes += data_file.file_size_in_bytes
            records += data_file.record_count
            partitions.add((data_file.spec_id, data_file.partition))
    return TableStats(
        table=name,
        data_files=data_files,
        data_bytes=data_bytes,
        records=records,
        snapshots=len(table.metadata.snapshots),
        partitions=len(partitions),
        delete_files=delete_files,
        last_maintenance=table.properties.get(LAST_MAINTENANCE_PROPERTY),
    )


def _live_data_files(table: Table) -> int:
    return sum(1 for _ in table.scan().plan_files())


def _referenced(
    table: Table, snapshots: Iterable[Snapshot], cache: dict[str, set[str]]
) -> set[str]:
    """Every file ``snapshots`` reference: manifest lists, manifests and the data and delete
    files live in them (each manifest read once, remembered in ``cache``)."""
    paths: set[str] = set()
    for snapshot in snapshots:
        paths.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            paths.add(manifest.manifest_path)
            if manifest.manifest_path not in cache:
                cache[manifest.manifest_path] = {
                    entry.data_file.file_path
                    for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
                }
            paths |= cache[manifest.manifest_path]
    return paths


def _all_referenced(table: Table) -> set[str]:
    """What the table's current metadata references: its snapshots' files, its metadata log,
    its statistics files."""
    metadata = table.metadata
    paths = _referenced(table, metadata.snapshots, {})
    paths.add(table.metadata_location)
    paths.update(entry.metadata_file for entry in metadata.metadata_log)
    paths.update(stats.statistics_path for stats in metadata.statistics)
    paths.update(stats.statistics_path for stats in metadata.partition_statistics)
    return paths


def _key(path: str) -> str:
    """A location as fsspec lists it: ``bucket/key`` for object stores, a path for files."""
    parsed = urlparse(path)
    if parsed.scheme in ("", "file"):
        return parsed.path if parsed.scheme else path
    return f"{parsed.netloc}{parsed.path}"


def _listing(table: Table) -> dict[str, datetime]:
    """Every file under the table's location (as :func:`_key` spells it) and when it was last
    modified, listed with fsspec configured from the table's FileIO properties."""
    from pyiceberg.io.fsspec import FsspecFileIO

    location = table.location()
    scheme = urlparse(location).scheme or "file"
    filesystem = FsspecFileIO(table.io.properties).get_fs(scheme)
    root = _key(location).rstrip("/")
    filesystem.invalidate_cache()  # fsspec caches listings per instance, and instances
    try:
        found = filesystem.find(root, detail=True, withdirs=False)
    except FileNotFoundError:
        return {}
    finally:
        filesystem.invalidate_cache()  # nobody else reading through it sees a stale listing
    # object stores may list a folder marker as an object: never a file to delete
    folders = {path.rsplit("/", 1)[0] for path in found}
    return {
        _key(path) if scheme == "file" else path: _modified(info)
        for path, info in found.items()
        if info.get("type", "file") == "file"
        and path.rstrip("/") not in folders
        and _key(path).startswith(f"{root}/")  # not a sibling sharing the prefix (t, t__child)
    }


def _modified(info: dict[str, Any]) -> datetime:
    value = info.get("mtime", info.get("LastModified", info.get("last_modified")))
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.now(UTC)  # unknown age: treated as new, so never deleted
