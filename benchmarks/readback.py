"""What a loaded benchmark table holds, read back by pyiceberg and by DuckDB, in its own process.

    python benchmarks/readback.py '{"workdir": ..., "table": ..., "key": [...], "value": ...}'

Prints one JSON line: snapshots, commits (metadata files), data and delete files of the current
snapshot, and per reader the rows, sum(value) and rows sharing a key with an earlier one, or the
error that kept the reader from reading the table.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from paths import NAMESPACE, _catalog  # noqa: E402

_DUCKDB_MEMORY = "6GB"


def _error(exc: Exception) -> dict[str, Any]:
    text = str(exc).strip().splitlines()
    return {"error": f"{type(exc).__name__}: {text[0] if text else ''}"[:300]}


def _total(value: Any) -> dict[str, Any]:
    """A sum as text, and whether it is exact (a decimal) or a float."""
    if value is None:
        return {"sum": "0", "exact": True}
    return {"sum": str(value), "exact": isinstance(value, Decimal | int)}


def _pyiceberg(table: Any, key: list[str], value: str) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    rows, total, keys = 0, None, []
    for batch in table.scan(selected_fields=(*key, value)).to_arrow_batch_reader():
        rows += batch.num_rows
        part = pc.sum(batch.column(value)).as_py()
        if part is not None:
            total = part if total is None else total + part
        keys.append(pa.Table.from_batches([batch]).select(key))
    distinct = 0
    if keys:
        distinct = pa.concat_tables(keys).group_by(key).aggregate([]).num_rows
    return {"rows": rows, **_total(total), "duplicates": rows - distinct}


def _duckdb(table: Any, key: list[str], value: str) -> dict[str, Any]:
    from floe_testing.duckdb_reader import read_iceberg

    columns = ", ".join(key)
    query = (
        f"SELECT count(*) AS n, sum({value}) AS s, "
        f"count(*) - count(DISTINCT ({columns})) AS d FROM t"
    )
    # DuckDB applying the equality deletes of a multi-million-row table can take the machine's
    # memory: it is held to a limit, and failing it is a finding like any reader's error
    [row] = read_iceberg(
        table.metadata_location, query, settings={"memory_limit": _DUCKDB_MEMORY}
    ).to_pylist()
    return {"rows": row["n"], **_total(row["s"]), "duplicates": row["d"]}


def read_back(args: dict[str, Any]) -> dict[str, Any]:
    table = _catalog(Path(args["workdir"])).load_table(f"{NAMESPACE}.{args['table']}")
    snapshot = table.current_snapshot()
    summary = snapshot.summary if snapshot is not None else None
    out: dict[str, Any] = {
        "snapshots": len(table.metadata.snapshots),
        "commits": len(table.metadata.metadata_log) + 1,
        "data_files": int(summary["total-data-files"]) if summary else 0,
        "delete_files": int(summary["total-delete-files"]) if summary else 0,
    }
    for name, reader in (("pyiceberg", _pyiceberg), ("duckdb", _duckdb)):
        try:
            out[name] = reader(table, args["key"], args["value"])
        except Exception as exc:  # a reader that cannot read the table is a finding
            out[name] = _error(exc)
    return out


if __name__ == "__main__":
    import resource

    # and the process to an address space well inside the machine's memory, so a reader that
    # ignores the limit fails here instead of taking the machine (and its database) down
    limit = 12 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    print(json.dumps(read_back(json.loads(sys.argv[1]))))
