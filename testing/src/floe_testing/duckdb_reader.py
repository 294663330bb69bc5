"""The second, independent reader of floe's Iceberg tables: DuckDB with its iceberg extension.

The extensions come from the PyPI packages ``duckdb-extension-iceberg`` and
``duckdb-extension-avro`` and are loaded from the files they ship, so nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["duckdb_connection", "read_iceberg"]


def _extension_file(package: str, name: str) -> str:
    import importlib

    module = importlib.import_module(package)
    [path] = sorted(Path(str(module.__file__)).parent.glob(f"extensions/*/{name}.duckdb_extension"))
    return str(path)


def duckdb_connection() -> Any:
    """An in-memory DuckDB connection with the avro and iceberg extensions loaded."""
    import duckdb

    connection = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    connection.execute(f"LOAD '{_extension_file('duckdb_extension_avro', 'avro')}'")
    connection.execute(f"LOAD '{_extension_file('duckdb_extension_iceberg', 'iceberg')}'")
    return connection


def read_iceberg(
    metadata_location: str,
    query: str = "SELECT * FROM t",
    filesystem: Any = None,
    settings: dict[str, str] | None = None,
) -> Any:
    """The rows of the Iceberg table whose current metadata file is ``metadata_location``, as a
    ``pyarrow.Table`` read by DuckDB (``t`` names the table in ``query``); ``settings`` are
    DuckDB settings (``{"memory_limit": "4GB"}``).

    ``filesystem``: an fsspec filesystem DuckDB reads the table's files through (an ``s3fs``
    one for tables on S3, which DuckDB cannot reach without its httpfs extension).
    """
    connection = duckdb_connection()
    for name, value in (settings or {}).items():
        connection.execute(f"SET {name} = ?", [value])
    if filesystem is not None:
        connection.register_filesystem(filesystem)
    try:
        location = metadata_location.removeprefix("file://")
        connection.execute(f"CREATE VIEW t AS SELECT * FROM iceberg_scan('{location}')")  # nosec B608  # a metadata path of a test table
        return connection.execute(query).to_arrow_table()
    finally:
        connection.close()
