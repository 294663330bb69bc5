"""Every private name of pyiceberg the destination uses, in one place, each with why.

``tests/test_pyiceberg_adapter.py`` exercises each of them, so a pyiceberg upgrade that renames
or changes one fails there, naming it, instead of somewhere inside a load.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.table.snapshots import Operation, Summary
from pyiceberg.table.update.snapshot import _OverwriteFiles
from requests import PreparedRequest, Response, Session
from requests.adapters import HTTPAdapter

if TYPE_CHECKING:
    from pyiceberg.io import FileIO
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table, Transaction
    from pyiceberg.table.metadata import TableMetadata

__all__ = [
    "PRIVATE_NAMES",
    "TIMEOUT_PROPERTY",
    "ReplaceFiles",
    "TimeoutRestCatalog",
    "check_schema_compatible",
    "data_files",
    "expire_snapshot_ids",
    "keep_nested_nulls",
    "replace_files",
]

#: The private pyiceberg names used below (checked by the adapter's test).
PRIVATE_NAMES = (
    "pyiceberg.io.pyarrow._dataframe_to_data_files",
    "pyiceberg.io.pyarrow._check_pyarrow_schema_compatible",
    "pyiceberg.catalog.rest.RestCatalog._config_headers",
    "pyiceberg.io.pyarrow.ArrowProjectionVisitor.list",  # wrapped: see keep_nested_nulls
    "pyiceberg.io.pyarrow.ArrowProjectionVisitor.map",
    "pyiceberg.table.update.snapshot._OverwriteFiles",
    "pyiceberg.table.update.snapshot._OverwriteFiles._summary",
    "pyiceberg.table.update.snapshot.ExpireSnapshots._snapshot_ids_to_expire",
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


def check_schema_compatible(metadata: TableMetadata, schema: pa.Schema) -> None:
    """Raise ``ValueError`` naming the columns when ``schema`` cannot be written to the table.

    Private: the same check pyiceberg's public ``append`` makes, needed because floe writes the
    files itself (see :func:`data_files`).
    """
    from pyiceberg.io.pyarrow import _check_pyarrow_schema_compatible

    _check_pyarrow_schema_compatible(
        metadata.schema(), provided_schema=schema, format_version=metadata.format_version
    )


TIMEOUT_PROPERTY = "floe.request-timeout-seconds"  # a catalog property, as a number of seconds
_DEFAULT_TIMEOUT_SECONDS = 60.0


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
    """A REST catalog whose requests fail with ``requests.Timeout`` (a transient error) after
    ``floe.request-timeout-seconds`` (default 60) without an answer: pyiceberg sets none, so a
    catalog that accepts connections but never answers would hang a load forever."""

    def _config_headers(self, session: Session) -> None:
        # private: pyiceberg calls it first on every session it creates, before its first
        # request; it has no public hook to mount a requests adapter
        super()._config_headers(session)
        adapter = _TimeoutAdapter(
            float(self.properties.get(TIMEOUT_PROPERTY, _DEFAULT_TIMEOUT_SECONDS))
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)


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
    """

    def _summary(self, snapshot_properties: dict[str, str] | None = None) -> Summary:
        summary = super()._summary(snapshot_properties or {})
        return Summary(Operation.REPLACE, **summary.additional_properties)


def replace_files(tx: Transaction, io: FileIO, properties: dict[str, str]) -> ReplaceFiles:
    """A :class:`ReplaceFiles` producer in ``tx`` (use it as a context manager to commit)."""
    return ReplaceFiles(
        operation=Operation.OVERWRITE, transaction=tx, io=io, snapshot_properties=properties
    )


def expire_snapshot_ids(table: Table, snapshot_ids: Iterable[int]) -> None:
    """Expire ``snapshot_ids`` of ``table`` in one metadata commit (branch and tag heads are
    still never expired: pyiceberg removes them from the set when committing).

    Private: the public ``by_ids`` checks each id against metadata it rebuilds every time, so
    expiring a few hundred snapshots takes tens of seconds; the set it fills is set at once.
    """
    expire = table.maintenance.expire_snapshots()
    expire._snapshot_ids_to_expire.update(snapshot_ids)
    expire.commit()
