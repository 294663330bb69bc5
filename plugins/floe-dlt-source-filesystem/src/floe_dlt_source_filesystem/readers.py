"""dlt transformers turning files into rows: CSV and Parquet as Arrow, JSON Lines as records.

Every reader names the file (and line, where it can) when a file cannot be read, raising
:class:`SourceDataError`, so the failure is permanent and says what to fix.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from typing import Any, Literal

import dlt
from dlt.common import json
from floe_ingestion_dlt.errors import SourceDataError
from floe_ingestion_dlt.types import ColumnWindow

from floe_dlt_source_filesystem.windows import inside_window

__all__ = [
    "CsvTypeConflictError",
    "CsvTypeConflicts",
    "describe",
    "plain_type",
    "read_csv",
    "read_jsonl",
    "read_parquet",
    "resolve_csv_types",
]

FileItem = Any  # dlt.sources.filesystem.FileItemDict: a listed file that can be opened
CsvTypeConflicts = Literal["string", "fail"]

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


class CsvTypeConflictError(SourceDataError):
    """A column is inferred as different types in different CSV files of one table."""


def _data_error(message: str) -> SourceDataError:
    return SourceDataError(message, source_type=_SOURCE_TYPE)


@dlt.transformer(name="read_csv")
def read_csv(
    items: Iterable[FileItem],
    delimiter: str,
    header: bool,
    encoding: str,
    type_conflicts: CsvTypeConflicts = "string",
    window: ColumnWindow | None = None,
) -> Iterator[Any]:
    """CSV files as Arrow record batches; column types are inferred by pyarrow.

    The files of one listing page are inferred first: a column inferred as different types in
    different files is read as text from every file (``type_conflicts: string``, its exact text)
    or fails naming the column and two of the files (``fail``). Integers and floats meet as
    floats and NULL-only columns take the other files' type, as within one file.
    """
    files = [item for item in items if not _is_empty(item)]
    options = _CsvOptions(delimiter, header, encoding)
    column_types = resolve_csv_types(
        [(describe(item), options.infer(item)) for item in files], type_conflicts
    )
    for item in files:
        yield from inside_window(options.read(item, column_types), window, describe(item))


class _CsvOptions:
    """How to open the CSV files of one source."""

    def __init__(self, delimiter: str, header: bool, encoding: str) -> None:
        self.delimiter = delimiter
        self.header = header
        self.encoding = encoding

    def _open(self, stream: Any, column_types: dict[str, Any], bad_rows: list[Any]) -> Any:
        import pyarrow.csv as pa_csv

        def on_invalid_row(row: Any) -> str:
            bad_rows.append(row)
            return "error"

        read_options = pa_csv.ReadOptions(
            use_threads=False,  # row numbers are only known to the serial reader
            block_size=_CSV_BLOCK_BYTES,
            autogenerate_column_names=not self.header,
            encoding=self.encoding,
        )
        parse_options = pa_csv.ParseOptions(
            delimiter=self.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid_row
        )
        convert_options = pa_csv.ConvertOptions(column_types=column_types)
        return pa_csv.open_csv(
            stream,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )

    def infer(self, item: FileItem) -> Any:
        """The column types pyarrow infers from the file's first block."""
        batches = self._batches(item, {}, schema_only=True)
        try:
            return next(batches)
        finally:
            batches.close()

    def read(self, item: FileItem, column_types: dict[str, Any]) -> Iterator[Any]:
        yield from self._batches(item, column_types, schema_only=False)

    def _batches(
        self, item: FileItem, column_types: dict[str, Any], *, schema_only: bool
    ) -> Generator[Any, None, None]:
        import pyarrow as pa

        name = describe(item)
        bad_rows: list[Any] = []
        with item.open(mode="rb") as stream:
            try:
                reader = self._open(stream, column_types, bad_rows)
                _check_text_columns(reader.schema, name, self.encoding)
                if schema_only:
                    yield reader.schema
                    return
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
                    f"{name}: not valid {self.encoding} text at byte {exc.start}: set "
                    "config.encoding"
                ) from exc


def resolve_csv_types(
    schemas: list[tuple[str, Any]], type_conflicts: CsvTypeConflicts
) -> dict[str, Any]:
    """Column types to read every file with, so all files of one table agree.

    ``schemas`` are (file, inferred Arrow schema) pairs. Raises :class:`CsvTypeConflictError`
    naming the column and two files when ``type_conflicts`` is ``fail``.
    """
    import pyarrow as pa

    found: dict[str, dict[Any, str]] = {}  # column -> type -> the first file with it
    for name, schema in schemas:
        for field in schema:
            if not pa.types.is_null(field.type):
                found.setdefault(field.name, {}).setdefault(field.type, name)
    resolved: dict[str, Any] = {}
    for column, types in found.items():
        if len(types) == 1:
            continue
        if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types):
            resolved[column] = pa.float64()
        elif type_conflicts == "fail":
            (one, first), (other, second) = list(types.items())[:2]
            raise CsvTypeConflictError(
                f"column {column!r} is {_type_name(one)} in {first} but {_type_name(other)} "
                f"in {second}: fix the files, or set config.csv_type_conflicts: string to load "
                "the column as text",
                source_type=_SOURCE_TYPE,
            )
        else:
            resolved[column] = pa.string()
    return resolved


def _type_name(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "a number"
    if pa.types.is_string(arrow_type):
        return "text"
    return str(arrow_type)


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
def read_jsonl(
    items: Iterable[FileItem], encoding: str, window: ColumnWindow | None = None
) -> Iterator[list[dict[str, Any]]]:
    """JSON Lines files as records, one JSON object a line; blank lines are skipped."""
    for item in items:
        if not _is_empty(item):
            yield from inside_window(_jsonl_chunks(item, encoding), window, describe(item))


def _jsonl_chunks(item: FileItem, encoding: str) -> Iterator[list[dict[str, Any]]]:
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
def read_parquet(items: Iterable[FileItem], window: ColumnWindow | None = None) -> Iterator[Any]:
    """Parquet files as Arrow record batches, types as written; view and large types (as
    arrow-rs based tools write them) become the plain types Iceberg stores, at every depth."""
    for item in items:
        if not _is_empty(item):
            yield from inside_window(_parquet_batches(item), window, describe(item))


def _parquet_batches(item: FileItem) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with item.open(mode="rb") as stream:
        try:
            parquet = pq.ParquetFile(stream)
            schema = parquet.schema_arrow
            plain = pa.schema([f.with_type(plain_type(f.type)) for f in schema])
            for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
                if batch.num_rows:
                    yield batch if plain == schema else batch.cast(plain)
        except pa.ArrowInvalid as exc:
            raise _data_error(f"{describe(item)}: not a readable Parquet file: {exc}") from exc


def plain_type(arrow_type: Any) -> Any:
    """``arrow_type`` with string/binary views and large strings, binaries and lists replaced by
    their plain forms, at every depth (the values are the same; only the layout differs)."""
    import pyarrow as pa

    t = pa.types
    if t.is_string_view(arrow_type) or t.is_large_string(arrow_type):
        return pa.string()
    if t.is_binary_view(arrow_type) or t.is_large_binary(arrow_type):
        return pa.binary()
    if (
        t.is_list(arrow_type)
        or t.is_large_list(arrow_type)
        or t.is_list_view(arrow_type)
        or (t.is_large_list_view(arrow_type))
    ):
        element = arrow_type.value_field
        return pa.list_(element.with_type(plain_type(element.type)))
    if t.is_map(arrow_type):
        key, item = arrow_type.key_field, arrow_type.item_field
        return pa.map_(
            key.with_type(plain_type(key.type)),
            item.with_type(plain_type(item.type)),
            keys_sorted=arrow_type.keys_sorted,
        )
    if t.is_struct(arrow_type):
        return pa.struct([f.with_type(plain_type(f.type)) for f in arrow_type.fields])
    return arrow_type
