"""The nested-table merge write alone: 1,000 root rows' lists replaced in a 2,000,000-row child table.

    uv run python benchmarks/nested_merge.py [--loads 100] [--rows-per-load 20000] [--touched 1000]

The child table (``items__tags``: four elements per root row) is built by ``--loads`` appends, one
data file each, as that many loads would leave it. ``_dlt_root_id`` values are random, as dlt's
are, so every data file's key bounds span nearly all of them and bounds alone prune nothing. The
timed part is floe's writer replacing the lists of ``--touched`` root rows written by the last
three loads (recently changed items), in one snapshot; it prints the seconds and how many data
files were rewritten.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from floe_dlt_destination_iceberg import writer
from pyiceberg.catalog.sql import SqlCatalog

SCHEMA = pa.schema(
    [
        ("value", pa.string()),
        ("_dlt_root_id", pa.string()),
        ("_dlt_parent_id", pa.string()),
        ("_dlt_list_idx", pa.int64()),
        ("_dlt_id", pa.string()),
    ]
)


def _ids(count: int) -> list[str]:
    return [base64.b64encode(os.urandom(10)).decode()[:14] for _ in range(count)]


def _children(roots: list[str], value: str, per_root: int) -> pa.Table:
    rows = len(roots) * per_root
    return pa.table(
        {
            "value": [value] * rows,
            "_dlt_root_id": [r for r in roots for _ in range(per_root)],
            "_dlt_parent_id": [r for r in roots for _ in range(per_root)],
            "_dlt_list_idx": [i % per_root for i in range(rows)],
            "_dlt_id": _ids(rows),
        },
        schema=SCHEMA,
    )


def once(root: Path, loads: int, rows_per_load: int, touched: int) -> tuple[float, int, int]:
    catalog = SqlCatalog("bench", uri=f"sqlite:///{root}/c.db", warehouse=root.as_uri())
    catalog.create_namespace("ns")
    table = catalog.create_table("ns.items__tags", schema=SCHEMA)
    recent: list[str] = []
    for load in range(loads):
        roots = _ids(rows_per_load // 4)
        writer.append(table, ds.dataset(_children(roots, "old", 4)), {})
        if load >= loads - 3:
            recent += roots
    chosen = random.sample(recent, touched)
    started = time.perf_counter()
    writer.merge_nested(
        table, ds.dataset(_children(chosen, "new", 1)), "_dlt_root_id", pa.array(chosen), None, {}
    )
    seconds = time.perf_counter() - started
    summary = table.refresh().current_snapshot().summary  # type: ignore[union-attr]
    rewritten = int(summary.get("deleted-data-files", "0") or 0) if summary else 0
    rows = table.scan().to_arrow().num_rows
    assert rows == loads * rows_per_load - touched * 3, rows
    return seconds, rewritten, len(list(table.scan().plan_files()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=100)
    parser.add_argument("--rows-per-load", type=int, default=20_000)
    parser.add_argument("--touched", type=int, default=1_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="floe-nested-merge-"))
    try:
        seconds, rewritten, files = once(root, args.loads, args.rows_per_load, args.touched)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"{args.loads * args.rows_per_load:,} child rows in {args.loads} files; lists of "
        f"{args.touched:,} roots replaced in {seconds:.2f} s; {rewritten} data files rewritten; "
        f"{files} data files after"
    )


if __name__ == "__main__":
    main()
