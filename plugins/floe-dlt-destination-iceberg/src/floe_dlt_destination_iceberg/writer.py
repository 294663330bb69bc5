"""Writing a load into an Iceberg table: one catalog commit per table per load.

- append writes data files chunk by chunk and commits them in one snapshot (memory bounded by a
  chunk, not the load);
- replace deletes and appends in one transaction;
- merge rewrites only the data files holding an incoming key, in one overwrite snapshot, having
  read the keys of only the files whose partition and key bounds can hold one (see
  :mod:`floe_dlt_destination_iceberg.pruning`); rows of those files whose key is not incoming
  are kept. Into a table with no rows, a load whose keys are all distinct is appended as it
  comes, chunk by chunk (an incremental source's first run costs what an append costs).

Every snapshot carries the load id in its summary, so a load replayed after a crash between the
commit and dlt's bookkeeping is recognized and not written twice.

Each function commits to ``branch``: ``main`` by default; under ``publish: audit`` the load's
audit branch, made from main before the write (so what is read is main's data), or ``None``
when main has no snapshot yet: the snapshot is then staged, on no branch, for the caller to name.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from floe_dlt_destination_iceberg._pyiceberg_adapter import (
    check_schema_compatible,
    data_files,
    file_batches,
    keep_nested_nulls,
    streamed_data_files,
)
from floe_dlt_destination_iceberg.pruning import candidates, key_values

if TYPE_CHECKING:
    from datetime import datetime

    import pyarrow.dataset as ds
    from floe_ingestion_dlt.types import ColumnWindow
    from pyiceberg.table import Table, Transaction
    from pyiceberg.table.metadata import TableMetadata
    from pyiceberg.table.snapshots import Snapshot

__all__ = [
    "CONFLICTS_PROPERTY",
    "LOAD_ID_PROPERTY",
    "MAIN",
    "ROWS_PROPERTY",
    "SCANNED_PROPERTY",
    "append",
    "committed_load",
    "insert_nested",
    "merge",
    "merge_nested",
    "replace",
    "replace_window",
    "window_bounds",
    "window_filter",
]

LOAD_ID_PROPERTY = "floe.load-id"
#: Rows the load brought to the table (a merge's snapshot also rewrites rows it kept)
ROWS_PROPERTY = "floe.rows"
#: Data files whose key columns a merge read, those its partitions and key bounds could not rule
#: out (it rewrites those holding an incoming key: the summary's ``deleted-data-files``)
SCANNED_PROPERTY = "floe.merge-files-scanned"
#: Times the commit found another writer's commit first and was planned again
CONFLICTS_PROPERTY = "floe.commit-conflicts"
_BATCH_ROWS = 65_536
#: a chunk of a load in memory: a row group of a streamed file; a sorted or partitioned table
#: gets a file per two chunks
_CHUNK_BYTES = 32 * 2**20
_KEY_SEPARATOR = "\x1f"
MAIN = "main"


def _head(table: Table, branch: str | None) -> Snapshot | None:
    return None if branch is None else table.snapshot_by_name(branch)


def committed_load(table: Table, load_id: str) -> bool:
    """True when a snapshot of ``table`` already records ``load_id``."""
    return any(
        snapshot.summary is not None and snapshot.summary.get(LOAD_ID_PROPERTY) == load_id
        for snapshot in table.metadata.snapshots
    )


def _compatible_schema(schema: pa.Schema) -> pa.Schema:
    from dlt.common.libs.pyiceberg import ensure_iceberg_compatible_arrow_schema

    return ensure_iceberg_compatible_arrow_schema(schema)


def _checked(metadata: TableMetadata, pieces: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """``pieces``, the first checked against the table's schema before it is written."""
    first = next(pieces, None)
    if first is None:
        return
    check_schema_compatible(metadata, first.schema)
    yield first
    yield from pieces


def _pieces(dataset: ds.Dataset) -> Iterator[pa.Table]:
    """The dataset as Iceberg-compatible tables, one per record batch read.

    Reading is sequential (no read-ahead): :func:`_write_tables` puts the pieces together into
    chunks, so memory holds one chunk, whatever the load's size.
    """
    schema = _compatible_schema(dataset.schema)
    for batch in _batches(dataset):
        data = pa.Table.from_batches([batch])
        yield (
            data.cast(schema) if data.schema == schema.remove_metadata() else _conform(data, schema)
        )


def _batches(dataset: ds.Dataset) -> Iterator[pa.RecordBatch]:
    """Record batches of every file, one row group at a time.

    ``ParquetFile.iter_batches`` holds a row group; a dataset scanner buffers whole files.
    """
    import pyarrow.parquet as pq

    files = getattr(dataset, "files", None)
    if not files:  # an in-memory dataset
        yield from dataset.to_batches(batch_size=_BATCH_ROWS)
        return
    for path in files:
        with pq.ParquetFile(path, pre_buffer=False) as parquet:
            yield from parquet.iter_batches(batch_size=_BATCH_ROWS, use_threads=False)


def _write(tx: Transaction, table: Table, dataset: ds.Dataset, producer: Any) -> None:
    """Write ``dataset`` as data files of ``table`` and add them to the snapshot ``producer``."""
    metadata = tx.table_metadata  # a deep copy on every access
    _write_tables(metadata, table, _checked(metadata, _pieces(dataset)), producer)


def _write_tables(
    metadata: TableMetadata, table: Table, pieces: Iterable[pa.Table], producer: Any
) -> None:
    """Write ``pieces`` (tables of one schema, of any size) as data files of ``table`` added
    to the snapshot ``producer``, one chunk in memory at a time: into an unpartitioned,
    unsorted table streamed into files of the table's target size; else a file per two
    chunks, each sorted by the table's order and split by its partitions."""
    keep_nested_nulls()
    from floe_dlt_destination_iceberg.layout import sort_keys

    counter = itertools.count(0)  # shared, so every file written gets its own name
    order = sort_keys(table)
    if not order and metadata.spec().is_unpartitioned():
        chunks = _rechunk(pieces, _CHUNK_BYTES)
        for data_file in streamed_data_files(
            metadata, chunks, table.io, producer.commit_uuid, counter
        ):
            producer.append_data_file(data_file)
        return
    for chunk in _rechunk(pieces, 2 * _CHUNK_BYTES):
        if order:  # each data file written in the table's sort order
            chunk = chunk.sort_by(
                [(column, direction) for column, direction, _ in order],
                null_placement=order[0][2],
            )
        for data_file in data_files(metadata, chunk, table.io, producer.commit_uuid, counter):
            producer.append_data_file(data_file)


def _rechunk(pieces: Iterable[pa.Table], size: int) -> Iterator[pa.Table]:
    """``pieces`` (tables of one schema) as tables of about ``size`` bytes: small ones put
    together (without copying), large ones sliced."""
    pending: list[pa.Table] = []
    held = 0
    for piece in pieces:
        if piece.num_rows == 0:
            continue
        rows = max(1, piece.num_rows * size // max(piece.nbytes, 1))
        for start in range(0, piece.num_rows, rows):
            part = piece.slice(start, rows)
            pending.append(part)
            held += part.nbytes
            if held >= size:
                yield pa.concat_tables(pending)
                pending, held = [], 0
    if pending:
        yield pa.concat_tables(pending)


def append(
    table: Table, dataset: ds.Dataset, properties: dict[str, str], branch: str | None = MAIN
) -> None:
    with (
        table.transaction() as tx,
        tx.update_snapshot(snapshot_properties=properties, branch=branch).fast_append() as producer,
    ):
        _write(tx, table, dataset, producer)


def replace(
    table: Table, dataset: ds.Dataset, properties: dict[str, str], branch: str | None = MAIN
) -> None:
    from pyiceberg.expressions import AlwaysTrue

    with table.transaction() as tx:
        if _head(table, branch) is not None:
            tx.delete(AlwaysTrue(), snapshot_properties=properties, branch=branch)
        with tx.update_snapshot(
            snapshot_properties=properties, branch=branch
        ).fast_append() as producer:
            _write(tx, table, dataset, producer)


def replace_window(
    table: Table,
    dataset: ds.Dataset,
    window: ColumnWindow,
    properties: dict[str, str],
    branch: str | None = MAIN,
) -> None:
    """Replace the rows whose ``window.column`` is in the window by ``dataset``, in one
    transaction: a window's rerun or backfill lands its rows once."""
    inside = window_filter(table, window)
    with table.transaction() as tx:
        if _head(table, branch) is not None:
            tx.delete(inside, snapshot_properties=properties, branch=branch)
        with tx.update_snapshot(
            snapshot_properties=properties, branch=branch
        ).fast_append() as producer:
            _write(tx, table, dataset, producer)


def window_filter(table: Table, window: ColumnWindow) -> str:
    """The window's rows of ``table`` as a pyiceberg row filter (the column name is a plain
    identifier: floe.yaml checks it)."""
    start, end = window_bounds(table, window)
    return f"{window.column} >= '{start}' AND {window.column} < '{end}'"


def window_bounds(table: Table, window: ColumnWindow) -> tuple[str, str]:
    """The window's bounds as the literals its column compares with.

    Raises:
        ValueError: the table has no such column, or it is neither a date nor a timestamp
            (text compares by its spelling, not by time: rows would be missed or doubled).
    """
    from pyiceberg.types import DateType, TimestampType, TimestamptzType

    name = table.name()[-1]
    try:
        field = table.schema().find_field(window.column)
    except ValueError:
        raise ValueError(f"table {name}: partitions.column: no column {window.column!r}") from None
    if not isinstance(field.field_type, DateType | TimestampType | TimestamptzType):
        raise ValueError(
            f"table {name}, column {window.column}: partitions.column must land as a date or a "
            f"timestamp, not {field.field_type}"
        )
    return _bound(field.field_type, window.start), _bound(field.field_type, window.end)


def _bound(iceberg_type: Any, moment: datetime) -> str:
    """``moment`` (UTC) as the literal the column's type compares with."""
    from pyiceberg.types import DateType, TimestamptzType

    if isinstance(iceberg_type, DateType):
        return moment.date().isoformat()
    if isinstance(iceberg_type, TimestamptzType):
        return moment.isoformat()
    return moment.replace(tzinfo=None).isoformat()


def _key(data: pa.Table, keys: list[str]) -> pa.Array:
    if len(keys) == 1:
        return data.column(keys[0]).combine_chunks()
    parts = [pc.cast(data.column(k), pa.string()) for k in keys]
    return pc.binary_join_element_wise(*parts, _KEY_SEPARATOR).combine_chunks()


def _dedupe_last(data: pa.Table, keys: list[str]) -> pa.Table:
    """Keep the last row of each key (the most recent version in extraction order)."""
    if data.num_rows == 0:
        return data
    indexed = data.append_column("__floe_row", pa.array(range(data.num_rows), pa.int64()))
    last = indexed.group_by(keys, use_threads=False).aggregate([("__floe_row", "max")])
    rows = pc.sort_indices(last.column("__floe_row_max"))
    return data.take(pc.take(last.column("__floe_row_max"), rows))


def merge(
    table: Table,
    dataset: ds.Dataset,
    keys: list[str],
    strategy: str,
    properties: dict[str, str],
    branch: str | None = MAIN,
    *,
    keys_unique: bool = False,
) -> None:
    """Merge ``dataset`` into ``table`` by ``keys`` in one snapshot.

    ``upsert``: the last incoming row of each key replaces the table's rows with that key.
    ``delete-insert``: every incoming row is inserted after rows with its key are deleted.
    ``insert-only``: incoming rows whose key is not in the table are appended.
    ``keys_unique``: the source vouches that no two incoming rows share a key (a SQL table's
    primary key), so the load is not searched for one.
    """
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan

    if _holds_no_rows(table, branch) and (
        strategy == "delete-insert" or keys_unique or not _has_duplicate_keys(dataset, keys)
    ):
        append(table, dataset, properties, branch)  # nothing to replace, nothing to collapse
        return
    incoming = dataset.to_table()
    incoming = incoming.cast(_compatible_schema(incoming.schema))
    if strategy in ("upsert", "insert-only") and not keys_unique:
        incoming = _dedupe_last(incoming, keys)
    incoming_keys = _key(incoming, keys)
    if _head(table, branch) is None:
        append(table, _as_dataset(incoming), properties, branch)
        return
    distinct = pc.unique(incoming_keys.drop_null())
    if strategy == "insert-only":
        scan = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue())
        files = candidates(table, key_values(incoming, keys, distinct))
        present = [pc.unique(_key(scan.to_table([task]), keys)) for task in files]
        if present:
            existing = pc.unique(pa.concat_arrays([p.cast(distinct.type) for p in present]))
            incoming = incoming.filter(pc.invert(pc.is_in(incoming_keys, value_set=existing)))
        scanned = {SCANNED_PROPERTY: str(len(files))}
        append(table, _as_dataset(incoming), {**properties, **scanned}, branch)
        return
    _rewrite(table, incoming, keys, distinct, properties, branch)


def _holds_no_rows(table: Table, branch: str | None) -> bool:
    """True when the branch has no snapshot, or its snapshot's summary counts no rows."""
    head = _head(table, branch)
    if head is None:
        return True
    summary = head.summary
    return summary is not None and summary.get("total-records") == "0"


def _has_duplicate_keys(dataset: ds.Dataset, keys: list[str]) -> bool:
    """True when two rows of ``dataset`` share a key (NULL counting as one value, as
    :func:`_dedupe_last` groups it).

    Only the key columns are read, and sorted: a hash of a million keys costs four times the
    memory of sorting them.
    """
    key_columns = dataset.to_table(columns=keys)
    if key_columns.num_rows < 2:
        return False
    order = pc.sort_indices(key_columns, sort_keys=[(key, "ascending") for key in keys])
    same: pa.Array | None = None
    for key in keys:
        column = pc.take(key_columns.column(key), order).combine_chunks()
        before, after = column.slice(0, len(column) - 1), column.slice(1)
        both_null = pc.and_(pc.is_null(before), pc.is_null(after))
        equal = pc.or_(pc.fill_null(pc.equal(before, after), False), both_null)
        same = equal if same is None else pc.and_(same, equal)
    return bool(pc.any(same).as_py())


def merge_nested(
    table: Table,
    dataset: ds.Dataset,
    root_key: str,
    roots: pa.Array,
    row_key: str | None,
    properties: dict[str, str],
    branch: str | None = MAIN,
) -> None:
    """Bring a nested table to the incoming state of every root row in ``roots``, in one snapshot.

    Rows whose ``root_key`` is in ``roots`` are deleted and the incoming rows are inserted (the
    last of each ``row_key``, when given): nothing of a touched root's old lists survives,
    children of other roots stay.
    """
    incoming = dataset.to_table()
    incoming = incoming.cast(_compatible_schema(incoming.schema))
    if row_key is not None:
        incoming = _dedupe_last(incoming, [row_key])
    distinct = pc.unique(roots.drop_null())
    if _head(table, branch) is None or len(distinct) == 0:
        if incoming.num_rows:
            append(table, _as_dataset(incoming), properties, branch)
        return
    _rewrite(table, incoming, [root_key], distinct, properties, branch)


def insert_nested(
    table: Table,
    dataset: ds.Dataset,
    root_key: str,
    roots: pa.Array,
    properties: dict[str, str],
    branch: str | None = MAIN,
) -> None:
    """Append the incoming rows of a nested table that belong to a root row in ``roots`` (the
    root rows an ``insert-only`` load adds); the lists of root rows it skips are skipped too."""
    import pyarrow.dataset as ds

    kept = dataset.to_table(filter=ds.field(root_key).isin(roots))
    append(table, _as_dataset(kept), properties, branch)


def _rewrite(
    table: Table,
    incoming: pa.Table,
    keys: list[str],
    deleted: pa.Array,
    properties: dict[str, str],
    branch: str | None = MAIN,
) -> None:
    """In one overwrite snapshot: delete the rows whose ``keys`` are in ``deleted`` and add
    ``incoming``. Only the key columns of data files whose partition and key bounds can hold a
    deleted key are read (:mod:`.pruning`; bounds prune little for hashed keys such as nested
    tables' ``_dlt_root_id``), and only files holding one are read, a batch at a time, and
    rewritten."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan

    keep_nested_nulls()  # the kept rows are read, and all rows written, with their NULLs
    schema = table.schema()
    key_scan = ArrowScan(table.metadata, table.io, schema.select(*keys), AlwaysTrue())
    files = candidates(table, key_values(incoming, keys, deleted))
    properties = {**properties, SCANNED_PROPERTY: str(len(files))}
    hits: list[tuple[Any, pa.Array]] = []
    for task in files:
        held = pc.is_in(_key(key_scan.to_table([task]), keys), value_set=deleted)
        if pc.any(held).as_py():
            hits.append((task, pc.fill_null(held, False)))
    if not hits and incoming.num_rows == 0:
        return  # nothing to change: no snapshot
    with table.transaction() as tx:
        metadata = tx.table_metadata  # a deep copy on every access
        scan = ArrowScan(metadata, table.io, schema, AlwaysTrue())
        arrow_schema = schema.as_arrow()
        with tx.update_snapshot(
            snapshot_properties=properties, branch=branch
        ).overwrite() as overwrite:

            def kept() -> Iterator[pa.Table]:
                """The rewritten files' rows no incoming key replaces, a batch at a time: memory
                follows a batch (a row group), not a data file or the table."""
                for task, held in hits:
                    overwrite.delete_data_file(task.file)
                    direct = _parquet_batches(task, table.io, schema, arrow_schema)
                    if direct is not None:  # in the order the key columns were read
                        offset = 0
                        for rows in direct:
                            replaced = held.slice(offset, rows.num_rows)
                            offset += rows.num_rows
                            yield _kept(rows, replaced, arrow_schema)
                        continue
                    for batch in file_batches(scan, task, table.io):
                        rows = pa.Table.from_batches([batch])
                        replaced = pc.fill_null(pc.is_in(_key(rows, keys), deleted), False)
                        yield _kept(rows, replaced, arrow_schema)

            added = [_conform(incoming, arrow_schema)] if hits else [incoming]
            _write_tables(metadata, table, itertools.chain(kept(), added), overwrite)


def _kept(rows: pa.Table, replaced: pa.Array, schema: pa.Schema) -> pa.Table:
    return rows.filter(pc.invert(replaced)).select(schema.names).cast(schema)


def _plain(data_type: pa.DataType) -> pa.DataType:
    """``data_type`` with large strings and binaries as the plain ones (a cast between them is
    exact; which one a Parquet file is read as depends on the writer's stored Arrow schema)."""
    if data_type == pa.large_string():
        return pa.string()
    if data_type == pa.large_binary():
        return pa.binary()
    return data_type


def _parquet_batches(
    task: Any, io: Any, schema: Any, arrow_schema: pa.Schema
) -> Iterator[pa.Table] | None:
    """The rows of one data file, a batch at a time as its row groups are read, when it is a
    Parquet file without delete files whose schema is the table's (the same field ids, names
    and types, and read as the Arrow types pyiceberg reads them: nothing evolved since it was
    written, as for the files floe writes); None for
    any other file, which pyiceberg's projection reads (renamed and added columns, position
    deletes) with a read-ahead of several row groups."""
    import pyarrow.parquet as pq
    from pyiceberg.io.pyarrow import pyarrow_to_schema
    from pyiceberg.manifest import FileFormat

    if task.delete_files or task.file.file_format != FileFormat.PARQUET:
        return None
    stream = io.new_input(task.file.file_path).open()
    parquet = pq.ParquetFile(stream, pre_buffer=False)
    try:
        same = pyarrow_to_schema(parquet.schema_arrow).as_struct() == schema.as_struct()
    except ValueError:  # a file without field ids
        same = False
    same = same and all(
        _plain(field.type) == _plain(arrow_schema.field(field.name).type)
        for field in parquet.schema_arrow
    )
    if not same:
        stream.close()
        return None

    def batches() -> Iterator[pa.Table]:
        with stream:
            for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, use_threads=False):
                yield pa.Table.from_batches([batch])

    return batches()


def _conform(data: pa.Table, schema: pa.Schema) -> pa.Table:
    """``data`` with ``schema``'s columns, in order; columns it lacks become nulls."""
    columns = [
        data.column(f.name).cast(f.type)
        if f.name in data.column_names
        else pa.nulls(data.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _as_dataset(data: pa.Table) -> Any:
    import pyarrow.dataset as ds

    return ds.dataset(data)
