"""The root rows a merge load touches, so the nested tables below them can follow.

dlt's merge semantics for nested tables (its SQL merge jobs) are the reference: a nested table's
rows whose root key (``_dlt_root_id``) belongs to a root row the load merges are replaced by the
incoming ones; rows of other roots stay. The touched root rows are the incoming root rows and the
root table's rows with the same merge keys before this load: ``delete-insert`` gives every root
row a new ``_dlt_id``, so the old lists are found through the old root rows.

The root table is read at its snapshot before this load, whether the root table's job committed
already or not, so the order in which the jobs of one load commit does not matter, and a rerun
after a crash between them finds the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from floe_dlt_destination_iceberg import writer
from floe_dlt_destination_iceberg.pruning import candidates, key_values

if TYPE_CHECKING:
    from pyiceberg.table import Table

__all__ = ["inserted_roots", "snapshot_before", "touched_roots"]


def snapshot_before(table: Table, load_id: str) -> int | None:
    """The snapshot ``table`` had before ``load_id`` first committed to it (the current one if it
    has not); ``None`` for a table with no snapshot then."""
    for snapshot in table.metadata.snapshots:
        summary = snapshot.summary
        if summary is not None and summary.get(writer.LOAD_ID_PROPERTY) == load_id:
            return snapshot.parent_snapshot_id
    current = table.current_snapshot()
    return current.snapshot_id if current is not None else None


def touched_roots(
    root: Table | None,
    incoming_files: Sequence[str],
    keys: list[str],
    row_key: str,
    load_id: str,
) -> pa.Array:
    """Row keys of the root rows this load merges: the incoming ones and, in the root table as it
    was before the load, those with an incoming merge key."""
    incoming, old = _root_rows(root, incoming_files, keys, row_key, load_id)
    ids = pa.concat_arrays([_ids(incoming, row_key), _ids(old, row_key)])
    return pc.unique(ids.drop_null())


def inserted_roots(
    root: Table | None,
    incoming_files: Sequence[str],
    keys: list[str],
    row_key: str,
    load_id: str,
) -> pa.Array:
    """Row keys of the root rows an ``insert-only`` load adds: the last incoming row of each key
    the root table did not hold before the load."""
    incoming, old = _root_rows(root, incoming_files, keys, row_key, load_id)
    incoming = writer._dedupe_last(incoming, keys)
    present = writer._key(old, keys)
    new = pc.invert(pc.fill_null(pc.is_in(writer._key(incoming, keys), value_set=present), False))
    return _ids(incoming.filter(new), row_key)


def _ids(rows: pa.Table, row_key: str) -> pa.Array:
    return rows.column(row_key).combine_chunks().cast(pa.string())


def _root_rows(
    root: Table | None,
    incoming_files: Sequence[str],
    keys: list[str],
    row_key: str,
    load_id: str,
) -> tuple[pa.Table, pa.Table]:
    """The incoming root rows and the root table's rows with their keys before the load, each
    with the key columns and ``row_key`` only. Only root data files whose partition and key
    bounds can hold an incoming key are read, and only those columns."""
    import pyarrow.dataset as ds
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan

    columns = [*keys, row_key]
    if not incoming_files:
        empty = pa.table({c: pa.array([], pa.string()) for c in columns})
        return empty, empty
    incoming = ds.dataset(list(incoming_files)).to_table(columns=columns)
    before = snapshot_before(root, load_id) if root is not None else None
    if root is None or before is None:
        return incoming, incoming.slice(0, 0)
    scan = root.scan(snapshot_id=before, selected_fields=tuple(columns))
    projection = scan.projection()
    incoming = writer._conform(incoming, projection.as_arrow())
    distinct = pc.unique(writer._key(incoming, keys).drop_null())
    tasks = candidates(root, key_values(incoming, keys, distinct), snapshot_id=before)
    if not tasks:
        return incoming, incoming.slice(0, 0)
    old = ArrowScan(root.metadata, root.io, projection, AlwaysTrue()).to_table(tasks)
    hit = pc.fill_null(pc.is_in(writer._key(old, keys), value_set=distinct), False)
    return incoming, old.filter(hit)
