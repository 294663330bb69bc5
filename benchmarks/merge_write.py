"""The merge write alone: 100k changed + 100k new rows into a 1,000,000-row Iceberg table.

    uv run python benchmarks/merge_write.py

The table is built by ten earlier appends of 100k rows (ten data files), as ten loads would leave
it; the timed part is floe's writer merging the 200k incoming rows (upsert by ``id``) in one
snapshot. ``run.py --suite merge`` measures the whole ``floe ingest run`` instead.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from floe_dlt_destination_iceberg import writer
from pyiceberg.catalog.sql import SqlCatalog

ROWS = 1_000_000
CHANGED = NEW = 100_000


def once(root: Path) -> tuple[float, int]:
    catalog = SqlCatalog("bench", uri=f"sqlite:///{root}/c.db", warehouse=root.as_uri())
    catalog.create_namespace("ns")
    base = pa.table(
        {
            "id": pa.array(range(ROWS), pa.int64()),
            "name": [f"n{i}" for i in range(ROWS)],
            "v": pa.array([i * 0.5 for i in range(ROWS)]),
        }
    )
    table = catalog.create_table("ns.events", schema=base.schema)
    for start in range(0, ROWS, 100_000):
        writer.append(table, ds.dataset(base.slice(start, 100_000)), {})
    changed = base.slice(0, CHANGED).set_column(1, "name", pa.array(["changed"] * CHANGED))
    new = pa.table(
        {
            "id": pa.array(range(ROWS, ROWS + NEW), pa.int64()),
            "name": ["new"] * NEW,
            "v": pa.array([0.0] * NEW),
        }
    )
    before = len(table.refresh().metadata.snapshots)
    started = time.perf_counter()
    writer.merge(table, ds.dataset(pa.concat_tables([changed, new])), ["id"], "upsert", {})
    seconds = time.perf_counter() - started
    table.refresh()
    assert table.scan().to_arrow().num_rows == ROWS + NEW
    return seconds, len(table.metadata.snapshots) - before


def main() -> None:
    results = []
    for _ in range(3):
        root = Path(tempfile.mkdtemp(prefix="floe-merge-"))
        try:
            results.append(once(root))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    median = statistics.median(r[0] for r in results)
    print(
        f"merge of {CHANGED + NEW:,} rows into {ROWS:,}: median {median:.2f} s = "
        f"{(CHANGED + NEW) / median:,.0f} rows/s, {results[0][1]} snapshot(s) per merge"
    )


if __name__ == "__main__":
    main()
