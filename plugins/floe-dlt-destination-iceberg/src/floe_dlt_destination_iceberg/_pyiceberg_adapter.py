"""Every private name of pyiceberg the destination uses, in one place, each with why.

``tests/test_pyiceberg_adapter.py`` exercises each of them, so a pyiceberg upgrade that renames
or changes one fails there, naming it, instead of somewhere inside a load.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyiceberg.manifest import DataFileContent, ManifestEntry, ManifestEntryStatus
from pyiceberg.table import Transaction
from pyiceberg.table.snapshots import Operation, Summary
from pyiceberg.table.update.snapshot import _OverwriteFiles

if TYPE_CHECKING:
    from pyiceberg.catalog.rest import RestCatalog
    from pyiceberg.io import FileIO
    from pyiceberg.io.pyarrow import ArrowScan
    from pyiceberg.manifest import DataFile, ManifestFile
    from pyiceberg.schema import Schema
    from pyiceberg.table import FileScanTask, Table
    from pyiceberg.table.metadata import TableMetadata

__all__ = [
    "PRIVATE_NAMES",
    "TIMEOUT_PROPERTY",
    "CachedTransaction",
    "ReplaceFiles",
    "cache_avro_schemas",
    "check_schema_compatible",
    "data_files",
    "evolved_schema",
    "expire_snapshot_ids",
    "file_batches",
    "keep_nested_nulls",
    "replace_files",
    "streamed_data_files",
    "timeout_rest_catalog",
]

#: The private pyiceberg names used below (checked by the adapter's test).
PRIVATE_NAMES = (
    "pyiceberg.io.pyarrow._dataframe_to_data_files",
    "pyiceberg.io.pyarrow._check_pyarrow_schema_compatible",
    "pyiceberg.io.pyarrow._to_requested_schema",  # see streamed_data_files
    "pyiceberg.io.pyarrow._read_all_delete_files",  # see file_batches
    "pyiceberg.io.pyarrow.ArrowScan._record_batches_from_scan_tasks_and_deletes",
    "pyiceberg.catalog.rest.RestCatalog._config_headers",
    "pyiceberg.io.pyarrow.ArrowProjectionVisitor.list",  # wrapped: see keep_nested_nulls
    "pyiceberg.io.pyarrow.ArrowProjectionVisitor.map",
    "pyiceberg.table.update.snapshot._OverwriteFiles",
    "pyiceberg.table.update.snapshot._OverwriteFiles._summary",
    "pyiceberg.table.update.snapshot._OverwriteFiles._existing_manifests",  # see ReplaceFiles
    "pyiceberg.table.update.snapshot._OverwriteFiles._deleted_entries",
    "pyiceberg.table.update.snapshot._OverwriteFiles._validate_required_deletes",
    "pyiceberg.table.update.snapshot._SnapshotProducer._deleted_data_files",
    "pyiceberg.table.update.snapshot._SnapshotProducer._target_branch",
    "pyiceberg.table.update.snapshot._SnapshotProducer._parent_snapshot_id",
    "pyiceberg.table.update.snapshot._SnapshotProducer._snapshot_id",
    "pyiceberg.table.update.snapshot._SnapshotProducer._io",
    "pyiceberg.avro.file.AvroFileHeader.get_schema",  # wrapped: see cache_avro_schemas
    "pyiceberg.avro.file.resolve_reader",
    "pyiceberg.table.Transaction._updates",  # see CachedTransaction
    "pyiceberg.table.Transaction._table",
    "pyiceberg.table.update.snapshot.ExpireSnapshots._snapshot_ids_to_expire",
    "pyiceberg.table.update.schema.UpdateSchema._apply",
)


def data_files(
    metadata: TableMetadata,
    data: pa.Table,
    io: FileIO,
    write_uuid: Any,
    counter: itertools.count[int] | None = None,
) -> Iterable[DataFile]:
    """Write ``data`` as Parquet data files of a table and describe them (not committed).

    Private: pyiceberg's public ``append``/``overwrite`` commit each call on its own; floe
    writes a load chunk by chunk (bounded memory) and merges by rewriting chosen files, all
    added to one snapshot, which needs the files written apart from the commit.
    """
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    options: dict[str, Any] = {"counter": counter} if counter is not None else {}
    return _dataframe_to_data_files(
        table_metadata=metadata, df=data, io=io, write_uuid=write_uuid, **options
    )


def streamed_data_files(
    metadata: TableMetadata,
    chunks: Iterable[pa.Table],
    io: FileIO,
    write_uuid: Any,
    counter: itertools.count[int],
) -> Iterator[DataFile]:
    """Write ``chunks`` (tables of one schema) as the data files of an unpartitioned table and
    describe them (not committed): each chunk goes out as it comes, a row group of the open
    file, and a new file begins once one holds the table's target file size in Arrow bytes
    (``write.target-file-size-bytes``, measured as pyiceberg measures it). Memory holds one
    chunk; the files are as large as pyiceberg makes them from a whole load held at once.

    Private: pyiceberg's writer holds a file's rows in memory before it writes them (a
    ``pa.Table`` whole; a ``RecordBatchReader`` in bins of the target size, 512 MiB by
    default), so floe writes through pyiceberg's file writer itself, after the same conversion
    to the file's schema (``_to_requested_schema``: field ids, timestamp units).
    """
    from pyiceberg.io.fileformat import FileFormatFactory
    from pyiceberg.io.pyarrow import _to_requested_schema, pyarrow_to_schema
    from pyiceberg.manifest import DataFile, FileFormat
    from pyiceberg.schema import sanitize_column_names
    from pyiceberg.table import DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE, TableProperties
    from pyiceberg.table.locations import load_location_provider
    from pyiceberg.typedef import Record
    from pyiceberg.utils.config import Config
    from pyiceberg.utils.properties import property_as_int

    properties = metadata.properties
    target = (
        property_as_int(
            properties,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
        )
        or TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT
    )
    file_format = FileFormat(
        properties.get(TableProperties.WRITE_FILE_FORMAT, TableProperties.WRITE_FILE_FORMAT_DEFAULT)
    )
    model = FileFormatFactory.get(file_format)
    locations = load_location_provider(
        table_location=metadata.location, table_properties=properties
    )
    table_schema = metadata.schema()
    file_schema = sanitize_column_names(table_schema)
    downcast = Config().get_bool(DOWNCAST_NS_TIMESTAMP_TO_US_ON_WRITE) or False

    def described(path: str, output: Any, statistics: Any) -> DataFile:
        return DataFile.from_args(
            content=DataFileContent.DATA,
            file_path=path,
            file_format=file_format,
            partition=Record(),
            file_size_in_bytes=len(output),
            sort_order_id=None,
            spec_id=metadata.default_spec_id,
            equality_ids=None,
            key_metadata=None,
            **statistics.to_serialized_dict(),
        )

    writer: Any = None
    output: Any = None
    path = ""
    held = 0
    try:
        for chunk in chunks:
            if chunk.num_rows == 0:
                continue
            chunk_schema = pyarrow_to_schema(
                chunk.schema,
                name_mapping=table_schema.name_mapping,
                downcast_ns_timestamp_to_us=downcast,
                format_version=metadata.format_version,
            )
            row_bytes = max(chunk.nbytes / chunk.num_rows, 1.0)
            start = 0
            while start < chunk.num_rows:  # a chunk larger than a file's room is split
                if writer is None:
                    # named as pyiceberg names a write task's file
                    name = f"00000-{next(counter)}-{write_uuid}.{model.file_extension()}"
                    path = locations.new_data_location(data_file_name=name)
                    output = io.new_output(path)
                    writer = model.create_writer(output, file_schema, properties)
                part = chunk.slice(start, max(1, int((target - held) / row_bytes)))
                start += part.num_rows
                batches = [
                    _to_requested_schema(
                        requested_schema=file_schema,
                        file_schema=chunk_schema,
                        batch=batch,
                        downcast_ns_timestamp_to_us=downcast,
                        include_field_ids=True,
                        format_model=model,
                    )
                    for batch in part.to_batches()
                ]
                writer.write(pa.Table.from_batches(batches))
                held += part.nbytes
                if held >= target:
                    yield described(path, output, writer.close())
                    writer, held = None, 0
        if writer is not None:
            yield described(path, output, writer.close())
            writer = None
    finally:
        if writer is not None:  # failed or abandoned mid-file: close it (an orphan file)
            with contextlib.suppress(Exception):
                writer.close()


def file_batches(scan: ArrowScan, task: FileScanTask, io: FileIO) -> Iterator[pa.RecordBatch]:
    """The rows of one data file of ``scan``'s table (its delete files applied), a record batch
    at a time as they are read.

    Private: pyiceberg's public ``ArrowScan.to_record_batches`` reads each file whole into a
    list before it yields the first batch (so its executor can read files in parallel); a merge
    rewriting a large file would hold all of it.
    """
    from pyiceberg.io.pyarrow import _read_all_delete_files

    deletes = _read_all_delete_files(io, [task])
    yield from scan._record_batches_from_scan_tasks_and_deletes([task], deletes)


def check_schema_compatible(metadata: TableMetadata, schema: pa.Schema) -> None:
    """Raise ``ValueError`` naming the columns when ``schema`` cannot be written to the table.

    Private: the same check pyiceberg's public ``append`` makes, needed because floe writes the
    files itself (see :func:`data_files`). pyiceberg's check imports ``rich`` to draw its report
    (a fifth of a second of a small load), so a schema whose every column is the table's, with
    the same type, passes without it; any other schema gets pyiceberg's check and its report.
    """
    from pyiceberg.io.pyarrow import _check_pyarrow_schema_compatible

    if _same_columns(metadata, schema):
        return
    _check_pyarrow_schema_compatible(
        metadata.schema(), provided_schema=schema, format_version=metadata.format_version
    )


def evolved_schema(table: Table, incoming: pa.Schema) -> Schema:
    """The schema ``table`` would have after pyiceberg's ``union_by_name`` of ``incoming`` (the
    evolution a load commits), computed without committing anything.

    Raises:
        ValidationError: a column's type cannot change to the incoming one.
        ValueError: a column is nested on one side and not on the other.

    Private: ``UpdateSchema._apply`` is what pyiceberg commits, and its only way to see the
    result of pending changes; the update is never committed here.
    """
    update = table.update_schema()
    update.union_by_name(incoming)
    return update._apply()


def _same_columns(metadata: TableMetadata, schema: pa.Schema) -> bool:
    """True when ``schema`` has exactly the table's columns, each of the same type (nested
    fields and their nullability included) and nullable only where the table's is: what
    pyiceberg's check accepts without a promotion."""
    from pyiceberg.io.pyarrow import pyarrow_to_schema

    table_schema = metadata.schema()
    try:
        provided = pyarrow_to_schema(
            schema, name_mapping=table_schema.name_mapping, format_version=metadata.format_version
        )
    except ValueError:  # a column the table lacks: pyiceberg's check names it
        return False
    if len(provided.fields) != len(table_schema.fields):
        return False
    for field in table_schema.fields:
        try:
            given = provided.find_field(field.field_id)
        except ValueError:
            return False
        if given.field_type != field.field_type or (field.required and not given.required):
            return False
    return True


TIMEOUT_PROPERTY = "floe.request-timeout-seconds"  # a catalog property, as a number of seconds
_DEFAULT_TIMEOUT_SECONDS = 60.0


def timeout_rest_catalog(name: str, **properties: str) -> RestCatalog:
    """A REST catalog whose requests fail with ``requests.Timeout`` (a transient error) after
    ``floe.request-timeout-seconds`` (default 60) without an answer: pyiceberg sets none, so a
    catalog that accepts connections but never answers would hang a load forever."""
    return _timeout_rest_catalog_class()(name, **properties)


@functools.cache
def _timeout_rest_catalog_class() -> type[RestCatalog]:
    """The class, made on first use: pyiceberg's REST catalog and requests are imported only by
    a run that opens a REST catalog."""
    from pyiceberg.catalog.rest import RestCatalog
    from requests import PreparedRequest, Response, Session
    from requests.adapters import HTTPAdapter

    class _TimeoutAdapter(HTTPAdapter):
        def __init__(self, timeout: float) -> None:
            super().__init__()
            self.timeout = timeout

        def send(
            self,
            request: PreparedRequest,
            stream: bool = False,
            timeout: float | tuple[float | None, float | None] | None = None,
            verify: bool | str = True,
            cert: str | tuple[str, str] | None = None,
            proxies: dict[str, str] | None = None,
        ) -> Response:
            timeout = self.timeout if timeout is None else timeout
            return super().send(request, stream, timeout, verify, cert, proxies)

    class TimeoutRestCatalog(RestCatalog):
        def _config_headers(self, session: Session) -> None:
            # private: pyiceberg calls it first on every session it creates, before its first
            # request; it has no public hook to mount a requests adapter
            super()._config_headers(session)
            adapter = _TimeoutAdapter(
                float(self.properties.get(TIMEOUT_PROPERTY, _DEFAULT_TIMEOUT_SECONDS))
            )
            session.mount("http://", adapter)
            session.mount("https://", adapter)

    return TimeoutRestCatalog


_lock = threading.Lock()
_installed = False


def keep_nested_nulls() -> None:
    """Keep NULL apart from empty for lists and maps of structs in pyiceberg's Arrow projection.

    Private: pyiceberg 0.12 projects Arrow data onto the table schema, when it writes a data
    file and when it reads one, with ``pyiceberg.io.pyarrow.ArrowProjectionVisitor``. For a list
    (or map) of structs it rebuilds the array from its offsets alone (its workaround for
    apache/arrow#38809), dropping the array's validity: a NULL ``list<struct>`` is written, and
    read, as an empty list. This wraps the visitor's ``list`` and ``map`` once per process
    (idempotent, thread-safe) so their results get the input's NULLs back; where pyiceberg kept
    them, nothing changes.
    """
    global _installed
    with _lock:
        if _installed:
            return
        # pyiceberg's projection visitor: its public class, whose list/map results lose NULLs
        from pyiceberg.io.pyarrow import ArrowProjectionVisitor

        project_list = ArrowProjectionVisitor.list
        project_map = ArrowProjectionVisitor.map

        def list_keeping_nulls(self: Any, list_type: Any, list_array: Any, value_array: Any) -> Any:
            result = project_list(self, list_type, list_array, value_array)
            return _with_nulls_of(result, list_array)

        def map_keeping_nulls(
            self: Any, map_type: Any, map_array: Any, key_result: Any, value_result: Any
        ) -> Any:
            result = project_map(self, map_type, map_array, key_result, value_result)
            return _with_nulls_of(result, map_array)

        list_keeping_nulls.__wrapped__ = project_list  # type: ignore[attr-defined]
        map_keeping_nulls.__wrapped__ = project_map  # type: ignore[attr-defined]
        ArrowProjectionVisitor.list = list_keeping_nulls  # type: ignore[method-assign]
        ArrowProjectionVisitor.map = map_keeping_nulls  # type: ignore[method-assign]
        _installed = True


_avro_installed = False
_AVRO_CACHE_SIZE = 256


def cache_avro_schemas() -> None:
    """Convert and resolve each Avro schema once per process, not once per manifest read.

    Private: pyiceberg 0.12 converts an Avro file's header schema to an Iceberg schema
    (``AvroFileHeader.get_schema``) and builds a reader tree for it
    (``pyiceberg.avro.file.resolve_reader``) on every manifest and manifest list it opens: that
    is nine tenths of reading a one-entry manifest (about 2 ms), so planning a table of a few
    hundred small files spends most of its time there. Both depend only on the schema text and
    the requested types, and a reader keeps no state between records, so they are kept per
    process (bounded, idempotent, thread-safe); a schema seen for the first time is converted
    as before.
    """
    global _avro_installed
    with _lock:
        if _avro_installed:
            return
        from pyiceberg.avro import file as avro_file

        get_schema = avro_file.AvroFileHeader.get_schema
        resolve = avro_file.resolve_reader  # type: ignore[attr-defined]
        schemas: dict[str, Any] = {}
        readers: dict[tuple[Any, ...], tuple[Any, Any, Any]] = {}

        def cached_get_schema(self: Any) -> Any:
            text = self.meta.get("avro.schema")  # the Avro spec's header key for the schema
            if not isinstance(text, str):
                return get_schema(self)
            schema = schemas.get(text)
            if schema is None:
                if len(schemas) >= _AVRO_CACHE_SIZE:
                    schemas.clear()
                schema = schemas.setdefault(text, get_schema(self))
            return schema

        def cached_resolve(
            file_schema: Any, read_schema: Any, read_types: Any = None, read_enums: Any = None
        ) -> Any:
            types, enums = read_types or {}, read_enums or {}
            key = (id(file_schema), id(read_schema), tuple(types.items()), tuple(enums.items()))
            hit = readers.get(key)
            if hit is None or hit[0] is not file_schema or hit[1] is not read_schema:
                if len(readers) >= _AVRO_CACHE_SIZE:
                    readers.clear()
                hit = (file_schema, read_schema, resolve(file_schema, read_schema, types, enums))
                readers[key] = hit  # holds both schemas: their ids are not reused meanwhile
            return hit[2]

        cached_get_schema.__wrapped__ = get_schema  # type: ignore[attr-defined]
        cached_resolve.__wrapped__ = resolve  # type: ignore[attr-defined]
        avro_file.AvroFileHeader.get_schema = cached_get_schema  # type: ignore[method-assign]
        avro_file.resolve_reader = cached_resolve  # type: ignore[attr-defined]
        _avro_installed = True


def _with_nulls_of(result: Any, source: Any) -> Any:
    """``result`` with the NULL entries of ``source`` (same length), if it lost any."""
    if not isinstance(result, (pa.ListArray, pa.LargeListArray, pa.MapArray)):
        return result
    if not isinstance(source, pa.Array) or source.null_count == result.null_count:
        return result
    mask = source.is_null()
    if isinstance(result, pa.MapArray):
        return pa.MapArray.from_arrays(
            result.offsets, result.keys, result.items, type=result.type, mask=mask
        )
    return type(result).from_arrays(result.offsets, result.values, type=result.type, mask=mask)


class ReplaceFiles(_OverwriteFiles):
    """Commits a ``replace`` snapshot: data files removed and added holding the same rows.

    Private: pyiceberg 0.12 has no public rewrite (compaction) operation and its snapshot
    summary refuses ``replace``; this is its overwrite producer (which deletes and adds files
    and keeps files a concurrent commit added when it re-plans) with the summary computed as an
    overwrite's, then marked ``replace`` so readers and incremental scans know no row changed.

    pyiceberg's producer reads every manifest of the parent snapshot twice (for the manifests to
    keep, and for the entries to mark deleted): with many small files that is most of a
    compaction's time. Here each manifest's live entries are read once, or taken from
    ``entries`` (manifest path to live entries: what compaction's plan read; a manifest file
    never changes), and both are computed from them as pyiceberg does.
    """

    def __init__(self, *args: Any, entries: dict[str, list[ManifestEntry]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._entries = entries

    def _summary(self, snapshot_properties: dict[str, str] | None = None) -> Summary:
        summary = super()._summary(snapshot_properties or {})
        return Summary(Operation.REPLACE, **summary.additional_properties)

    def _live(self, manifest: ManifestFile) -> list[ManifestEntry]:
        entries = self._entries.get(manifest.manifest_path)
        if entries is None:
            entries = manifest.fetch_manifest_entry(self._io, discard_deleted=True)
            self._entries[manifest.manifest_path] = entries
        return entries

    def _existing_manifests(self) -> list[ManifestFile]:
        """The parent's manifests holding none of the deleted files, and the others rewritten
        without them (dropped when nothing else is left)."""
        snapshot = self._transaction.table_metadata.snapshot_by_name(name=self._target_branch)
        kept: list[ManifestFile] = []
        for manifest in snapshot.manifests(io=self._io) if snapshot is not None else ():
            entries = self._live(manifest)
            left = [e for e in entries if e.data_file not in self._deleted_data_files]
            if len(left) == len(entries):
                kept.append(manifest)
            elif left:
                with self.new_manifest_writer(self.spec(manifest.partition_spec_id)) as writer:
                    for entry in left:
                        writer.add_entry(_entry(entry, ManifestEntryStatus.EXISTING, None))
                kept.append(writer.to_manifest_file())
        return kept

    def _deleted_entries(self) -> list[ManifestEntry]:
        """The parent's entries of the deleted files, marked deleted by this snapshot."""
        deleted: list[ManifestEntry] = []
        if self._parent_snapshot_id is not None:
            parent = self._transaction.table_metadata.snapshot_by_id(self._parent_snapshot_id)
            if parent is None:
                raise ValueError(f"no parent snapshot {self._parent_snapshot_id}")
            for manifest in parent.manifests(self._io):
                deleted.extend(
                    _entry(entry, ManifestEntryStatus.DELETED, self._snapshot_id)
                    for entry in self._live(manifest)
                    if entry.data_file.content == DataFileContent.DATA
                    and entry.data_file in self._deleted_data_files
                )
        self._validate_required_deletes(deleted)
        return deleted


def _entry(entry: ManifestEntry, status: ManifestEntryStatus, snapshot_id: int | None) -> Any:
    return ManifestEntry.from_args(
        status=status,
        snapshot_id=entry.snapshot_id if snapshot_id is None else snapshot_id,
        sequence_number=entry.sequence_number,
        file_sequence_number=entry.file_sequence_number,
        data_file=entry.data_file,
    )


def replace_files(
    tx: Transaction,
    io: FileIO,
    properties: dict[str, str],
    entries: dict[str, list[ManifestEntry]] | None = None,
) -> ReplaceFiles:
    """A :class:`ReplaceFiles` producer in ``tx`` (use it as a context manager to commit);
    ``entries``: live entries of manifests already read (by manifest path)."""
    return ReplaceFiles(
        operation=Operation.OVERWRITE,
        transaction=tx,
        io=io,
        snapshot_properties=properties,
        entries=entries if entries is not None else {},
    )


class CachedTransaction(Transaction):
    """A transaction whose ``table_metadata`` is computed once per change, not per access.

    Private: pyiceberg's ``Transaction.table_metadata`` applies the staged updates to a deep copy
    of the table's metadata on every access, and a snapshot producer reads it a dozen times:
    with a few hundred snapshots that is a large share of a compaction's commit. The result is
    kept until the staged updates (``_updates``, replaced on every change) or the table's
    metadata (``_table.metadata``, replaced on refresh) change; metadata models are frozen.
    """

    _cache: tuple[object, object, TableMetadata] | None = None

    @property
    def table_metadata(self) -> TableMetadata:
        base, updates = self._table.metadata, self._updates
        cache = self._cache
        if cache is None or cache[0] is not base or cache[1] is not updates:
            cache = (base, updates, super().table_metadata)
            self._cache = cache
        return cache[2]


def expire_snapshot_ids(table: Table, snapshot_ids: Iterable[int]) -> None:
    """Expire ``snapshot_ids`` of ``table`` in one metadata commit (branch and tag heads are
    still never expired: pyiceberg removes them from the set when committing).

    Private: the public ``by_ids`` checks each id against metadata it rebuilds every time, so
    expiring a few hundred snapshots takes tens of seconds; the set it fills is set at once.
    """
    expire = table.maintenance.expire_snapshots()
    expire._snapshot_ids_to_expire.update(snapshot_ids)
    expire.commit()
