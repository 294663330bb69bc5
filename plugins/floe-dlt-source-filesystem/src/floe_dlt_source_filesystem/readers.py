"""dlt transformers turning files into rows: CSV and Parquet as Arrow, JSON Lines as records.

Every reader names the file (and line, where it can) when a file cannot be read, raising
:class:`SourceDataError`, so the failure is permanent and says what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import dlt
from dlt.common import json
from floe_ingestion_dlt.errors import SourceDataError

__all__ = ["describe", "read_csv", "read_jsonl", "read_parquet"]

FileItem = Any  # dlt.sources.filesystem.FileItemDict: a listed file that can be opened

_SOURCE_TYPE = "filesystem"
#: CSV column types are inferred from the first block, so blocks are large.
_CSV_BLOCK_BYTES = 16 << 20
_PARQUET_BATCH_ROWS = 65_536
_JSONL_CHUNK_ROWS = 10_000
_UTF8_BOM = b"\xef\xbb\xbf"


def describe(item: FileItem) -> str:
    """The file as a user would look for it: a local path, or its s3:// URL."""
    url = str(item["file_url"])
    return str(item.local_file_path) if url.startswith("file://") else url


def _is_empty(item: FileItem) -> bool:
    return bool(item.get("size_in_bytes") == 0)


def _data_error(message: str) -> SourceDataError:
    return SourceDataError(message, source_type=_SOURCE_TYPE)


@dlt.transformer(name="read_csv")
def read_csv(
    items: Iterable[FileItem], delimiter: str, header: bool, encoding: str
) -> Iterator[Any]:
    """CSV files as Arrow record batches; column types are inferred by pyarrow."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    for item in items:
        if _is_empty(item):
            continue
        name = describe(item)
        bad_rows: list[Any] = []

        def on_invalid_row(row: Any, bad_rows: list[Any] = bad_rows) -> str:
            bad_rows.append(row)
            return "error"

        read_options = pa_csv.ReadOptions(
            use_threads=False,  # row numbers are only known to the serial reader
            block_size=_CSV_BLOCK_BYTES,
            autogenerate_column_names=not header,
            encoding=encoding,
        )
        parse_options = pa_csv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid_row
        )
        with item.open(mode="rb") as stream:
            try:
                reader = pa_csv.open_csv(
                    stream, read_options=read_options, parse_options=parse_options
                )
                _check_text_columns(reader.schema, name, encoding)
                for batch in reader:
                    if batch.num_rows:
                        yield batch
            except pa.ArrowInvalid as exc:
                if bad_rows:
                    row = bad_rows[0]
                    where = f"line {row.number}" if row.number is not None else "a row"
                    raise _data_error(
                        f"{name}, {where}: expected {row.expected_columns} columns, got "
                        f"{row.actual_columns}: {row.text[:100]!r}"
                    ) from exc
                raise _data_error(f"{name}: cannot read as CSV: {exc}") from exc
            except UnicodeDecodeError as exc:
                raise _data_error(
                    f"{name}: not valid {encoding} text at byte {exc.start}: set config.encoding"
                ) from exc


def _check_text_columns(schema: Any, name: str, encoding: str) -> None:
    """pyarrow reads a column that is not valid UTF-8 as bytes; say which encoding to set."""
    import pyarrow as pa

    if encoding != "utf-8":
        return
    for field in schema:
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            raise _data_error(
                f"{name}: column {field.name!r} is not valid UTF-8 text: set config.encoding "
                "to the file's encoding, e.g. latin-1"
            )


@dlt.transformer(name="read_jsonl")
def read_jsonl(items: Iterable[FileItem], encoding: str) -> Iterator[list[dict[str, Any]]]:
    """JSON Lines files as records, one JSON object a line; blank lines are skipped."""
    for item in items:
        if _is_empty(item):
            continue
        name = describe(item)
        chunk: list[dict[str, Any]] = []
        number = 0
        binary = encoding == "utf-8"
        options: dict[str, Any] = {} if binary else {"encoding": encoding}
        with item.open(mode="rb" if binary else "rt", **options) as stream:
            try:
                for number, line in enumerate(stream, start=1):
                    record = _parse_line(line, number, name)
                    if record is None:
                        continue
                    chunk.append(record)
                    if len(chunk) >= _JSONL_CHUNK_ROWS:
                        yield chunk
                        chunk = []
            except UnicodeDecodeError as exc:
                raise _data_error(
                    f"{name}, line {number + 1}: not valid {encoding} text: set config.encoding"
                ) from exc
        if chunk:
            yield chunk


def _parse_line(line: bytes | str, number: int, name: str) -> dict[str, Any] | None:
    if number == 1:
        line = line.removeprefix(_UTF8_BOM) if isinstance(line, bytes) else line.lstrip("\ufeff")
    if not line.strip():
        return None
    try:
        record = json.loadb(line) if isinstance(line, bytes) else json.loads(line)
    except ValueError as exc:
        raise _data_error(f"{name}, line {number}: not valid JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise _data_error(
            f"{name}, line {number}: expected a JSON object, got {type(record).__name__}"
        )
    return record


@dlt.transformer(name="read_parquet")
def read_parquet(items: Iterable[FileItem]) -> Iterator[Any]:
    """Parquet files as Arrow record batches, types as written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for item in items:
        if _is_empty(item):
            continue
        with item.open(mode="rb") as stream:
            try:
                parquet = pq.ParquetFile(stream)
                for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
                    if batch.num_rows:
                        yield batch
            except pa.ArrowInvalid as exc:
                raise _data_error(f"{describe(item)}: not a readable Parquet file: {exc}") from exc
