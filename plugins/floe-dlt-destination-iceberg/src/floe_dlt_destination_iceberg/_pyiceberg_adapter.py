"""Every private name of pyiceberg the destination uses, in one place, each with why.

``tests/test_pyiceberg_adapter.py`` exercises each of them, so a pyiceberg upgrade that renames
or changes one fails there, naming it, instead of somewhere inside a load.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pyiceberg.catalog.rest import RestCatalog
from requests import PreparedRequest, Response, Session
from requests.adapters import HTTPAdapter

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.io import FileIO
    from pyiceberg.manifest import DataFile
    from pyiceberg.table.metadata import TableMetadata

__all__ = [
    "PRIVATE_NAMES",
    "TIMEOUT_PROPERTY",
    "TimeoutRestCatalog",
    "check_schema_compatible",
    "data_files",
]

#: The private pyiceberg names used below (checked by the adapter's test).
PRIVATE_NAMES = (
    "pyiceberg.io.pyarrow._dataframe_to_data_files",
    "pyiceberg.io.pyarrow._check_pyarrow_schema_compatible",
    "pyiceberg.catalog.rest.RestCatalog._config_headers",
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
