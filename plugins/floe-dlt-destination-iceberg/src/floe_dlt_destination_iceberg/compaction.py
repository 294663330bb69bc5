"""Compaction: a partition's small data files bin-packed into files of about the target size.

The new files hold exactly the rows of the files they replace (checked by count before the
commit), sorted by the table's sort order when it has one, written under the partition spec the
replaced files were written with. Everything is committed as one ``replace`` snapshot. A load
that commits to the table meanwhile loses nothing: the commit is re-planned on the new head,
keeping the load's files; when a concurrent commit removed files being compacted, those bins are
dropped (their new files deleted) and the rest is committed, or compaction gives up and says so.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from floe_core.spec import CompactSpec

from floe_dlt_destination_iceberg._pyiceberg_adapter import (
    CachedTransaction,
    cache_avro_schemas,
    data_files,
    keep_nested_nulls,
    replace_files,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.manifest import DataFile, ManifestEntry
    from pyiceberg.table import FileScanTask, Table

__all__ = ["MAINTENANCE_PROPERTY", "CompactionError", "CompactionPlan", "plan_compaction"]

#: Snapshot summary property marking what floe's maintenance committed.
MAINTENANCE_PROPERTY = "floe.maintenance"
_SMALL_FRACTION = 0.75  # a file below 75% of the target size is small
_COMMIT_ATTEMPTS = 4
_TARGET_SIZE_PROPERTY = "write.target-file-size-bytes"


class CompactionError(Exception):
    """Compaction refused to commit: the rewritten files would not hold the same rows."""


@dataclass
class _Bin:
    spec_id: int
    tasks: list[FileScanTask]
    written: list[DataFile] = field(default_factory=list)

    @property
    def inputs(self) -> list[DataFile]:
        return [task.file for task in self.tasks]


@dataclass
class CompactionPlan:
    """Which files of a table compaction rewrites, in bins of about the target size."""

    table: Table
    snapshot_id: int | None  # the snapshot the plan was made from
    data_files_before: int
    bins: list[_Bin]
    outcome: str = ""
    #: live entries of the manifests the plan read, by manifest path (the commit reuses them)
    entries: dict[str, list[ManifestEntry]] = field(default_factory=dict)

    @property
    def input_files(self) -> int:
        return sum(len(b.tasks) for b in self.bins)

    @property
    def bytes_to_rewrite(self) -> int:
        return sum(t.file.file_size_in_bytes for b in self.bins for t in b.tasks)

    @property
    def data_files_after(self) -> int:
        """Data files once committed (an estimate until :meth:`write` ran)."""
        written = sum(len(b.written) or 1 for b in self.bins)
        return self.data_files_before - self.input_files + written

    def write(self) -> None:
        """Write every bin's new data files (not yet committed).

        Raises:
            CompactionError: a bin's new files do not hold as many rows as its old ones.
        """
        counter = itertools.count(0)
        write_uuid = uuid.uuid4()
        for bin_ in self.bins:
            bin_.written = _write_bin(self.table, bin_, write_uuid, counter)
            before = sum(f.record_count for f in bin_.inputs)
            after = sum(f.record_count for f in bin_.written)
            if before != after:
                self.discard()
                raise CompactionError(
                    f"compacting {len(bin_.tasks)} files of {'.'.join(self.table.name())} "
                    f"would turn {before} rows into {after}: nothing committed"
                )

    def commit(self) -> str:
        """Commit the written bins as one ``replace`` snapshot; says what happened."""
        from pyiceberg.exceptions import CommitFailedException, ValidationException

        dropped = 0
        for _ in range(_COMMIT_ATTEMPTS):
            self.table.refresh()
            current = self.table.current_snapshot()
            if current is None or current.snapshot_id != self.snapshot_id:
                dropped += self._drop_rewritten()  # another commit landed since the plan
            if not self.bins:
                self.outcome = "gave up: a concurrent commit rewrote the files; nothing changed"
                return self.outcome
            try:
                self._commit_once()
            except (CommitFailedException, ValidationException):
                continue  # another commit landed first: re-plan on the new head
            skipped = f" ({dropped} bins left: a concurrent commit rewrote them)" if dropped else ""
            self.outcome = f"compacted{skipped}"
            return self.outcome
        self.discard()
        self.outcome = f"gave up after {_COMMIT_ATTEMPTS} conflicting commits; nothing changed"
        return self.outcome

    def _drop_rewritten(self) -> int:
        """Drop (deleting their new files) the bins whose input files are no longer live."""
        live = {task.file.file_path for task in self.table.scan().plan_files()}
        gone = [b for b in self.bins if not all(f.file_path in live for f in b.inputs)]
        for bin_ in gone:
            _delete(self.table, bin_.written)
            self.bins.remove(bin_)
        return len(gone)

    def _commit_once(self) -> None:
        properties = {MAINTENANCE_PROPERTY: "compact"}
        with (
            CachedTransaction(self.table) as tx,
            replace_files(tx, self.table.io, properties, self.entries) as producer,
        ):
            for bin_ in self.bins:
                for old in bin_.inputs:
                    producer.delete_data_file(old)
                for new in bin_.written:
                    producer.append_data_file(new)

    def discard(self) -> None:
        """Delete the files written for bins that will not be committed."""
        for bin_ in self.bins:
            _delete(self.table, bin_.written)
            bin_.written = []


def plan_compaction(table: Table, spec: CompactSpec) -> CompactionPlan:
    """The bins compaction would rewrite: per partition with at least ``min_input_files``
    small files, first-fit-decreasing bins of up to the target size, each of two files or more.

    Files carrying delete files are left alone (rewriting them would need the deletes applied).
    """
    target = spec.target_file_size_mb * 2**20
    snapshot = table.current_snapshot()
    tasks, entries = _live_files(table)
    groups: dict[tuple[int, Any], list[FileScanTask]] = defaultdict(list)
    for task in tasks:
        if task.delete_files or task.file.file_size_in_bytes >= target * _SMALL_FRACTION:
            continue
        groups[(task.file.spec_id, task.file.partition)].append(task)
    bins: list[_Bin] = []
    for (spec_id, _), small in groups.items():
        if len(small) < spec.min_input_files:
            continue
        bins.extend(_Bin(spec_id, packed) for packed in _pack(small, target) if len(packed) > 1)
    return CompactionPlan(
        table=table,
        snapshot_id=snapshot.snapshot_id if snapshot is not None else None,
        data_files_before=len(tasks),
        bins=bins,
        entries=entries,
    )


def _live_files(table: Table) -> tuple[list[FileScanTask], dict[str, list[ManifestEntry]]]:
    """The current snapshot's data files, and the live entries of each of its manifests (read
    once, concurrently; the commit reuses them). A snapshot with delete files is planned by
    pyiceberg, which pairs each data file with its deletes."""
    from pyiceberg.manifest import DataFileContent, ManifestContent
    from pyiceberg.table import FileScanTask
    from pyiceberg.utils.concurrent import ExecutorFactory

    cache_avro_schemas()
    snapshot = table.current_snapshot()
    manifests = snapshot.manifests(table.io) if snapshot is not None else []
    if any(m.content != ManifestContent.DATA for m in manifests):
        return list(table.scan().plan_files()), {}
    read = ExecutorFactory.get_or_create().map(
        lambda m: m.fetch_manifest_entry(table.io, discard_deleted=True), manifests
    )
    entries = {m.manifest_path: live for m, live in zip(manifests, read, strict=True)}
    tasks = [
        FileScanTask(entry.data_file)
        for live in entries.values()
        for entry in live
        if entry.data_file.content == DataFileContent.DATA
    ]
    return tasks, entries


def _pack(tasks: list[FileScanTask], target: int) -> Iterator[list[FileScanTask]]:
    """First-fit decreasing: bins of tasks whose sizes add up to at most ``target``."""
    bins: list[tuple[int, list[FileScanTask]]] = []
    for task in sorted(tasks, key=lambda t: t.file.file_size_in_bytes, reverse=True):
        size = task.file.file_size_in_bytes
        for index, (used, members) in enumerate(bins):
            if used + size <= target:
                members.append(task)
                bins[index] = (used + size, members)
                break
        else:
            bins.append((size, [task]))
    for _, members in bins:
        yield members


def _write_bin(
    table: Table, bin_: _Bin, write_uuid: uuid.UUID, counter: itertools.count[int]
) -> list[DataFile]:
    """The rows of a bin as one new data file (per partition) under the bin's partition spec."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan

    keep_nested_nulls()  # a NULL list of structs is read and written as NULL, not as []
    metadata = table.metadata
    rows = ArrowScan(metadata, table.io, metadata.schema(), AlwaysTrue()).to_table(bin_.tasks)
    rows = _sorted(table, rows)
    # one output file per bin: the bin is already about the target size on disk, while
    # pyiceberg would split by the (larger) in-memory size
    layout = metadata.model_copy(
        update={
            "default_spec_id": bin_.spec_id,
            "properties": {**metadata.properties, _TARGET_SIZE_PROPERTY: str(2**62)},
        }
    )
    return list(data_files(layout, rows, table.io, write_uuid, counter))


def _sorted(table: Table, rows: pa.Table) -> pa.Table:
    """``rows`` in the table's sort order (unchanged when the table has none)."""
    import pyarrow.compute as pc
    from pyiceberg.table.sorting import NullOrder, SortDirection
    from pyiceberg.transforms import IdentityTransform

    order = table.sort_order()
    if order.is_unsorted or rows.num_rows == 0:
        return rows
    schema = table.schema()
    keys: list[tuple[str, str]] = []
    columns: dict[str, Any] = {}
    for index, sort_field in enumerate(order.fields):
        source = schema.find_field(sort_field.source_id)
        values = rows.column(schema.find_column_name(sort_field.source_id) or source.name)
        if not isinstance(sort_field.transform, IdentityTransform):
            values = sort_field.transform.pyarrow_transform(source.field_type)(values)
        name = f"__floe_sort_{index}"
        columns[name] = values
        direction = "ascending" if sort_field.direction == SortDirection.ASC else "descending"
        keys.append((name, direction))
    nulls = "at_start" if order.fields[0].null_order == NullOrder.NULLS_FIRST else "at_end"
    keyed = rows
    for name, values in columns.items():
        keyed = keyed.append_column(name, values)
    indices = pc.sort_indices(keyed, sort_keys=keys, null_placement=nulls)
    return rows.take(indices)


def _delete(table: Table, files: list[DataFile]) -> None:
    for data_file in files:
        table.io.delete(data_file.file_path)
