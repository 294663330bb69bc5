"""Table maintenance: 200 incremental appends of 5,000 rows, then the maintenance policy.

    uv run python benchmarks/maintenance.py [--appends 200] [--rows 5000] [--repeat 3]

The table (SQL catalog on SQLite, local warehouse) is built by ``--appends`` commits of floe's
writer, as that many incremental loads leave it. Then, as ``floe tables maintain`` runs it (the
destination's ``maintain``, default policy with ``expire_snapshots.older_than: 0s`` so the
benchmark need not wait a week): compaction alone, timed, then snapshot expiry and orphan removal.
Reported: data files and snapshots before and after, a full-scan read with pyiceberg and with
DuckDB before and after (median of 3), rows identical, and compaction throughput against a plain
Parquet read + write of the same files with pyarrow (same codec), once in that run, then as the
median over ``--repeat`` tables built alike, for the small files and for ``--large-appends`` of
``--large-rows``. Also run by ``run.py --suite maintenance``.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

TABLE = "bench.events"
TARGET_MB = 128
RETAIN_LAST = 10


@dataclass
class Figures:
    files: int
    snapshots: int
    data_bytes: int
    pyiceberg_scan: float
    duckdb_scan: float


def _rows(start: int, count: int) -> Any:
    import pyarrow as pa

    ids = pa.array(range(start, start + count), pa.int64())
    return pa.table(
        {
            "id": ids,
            "customer_id": pa.array([i % 10_007 for i in range(start, start + count)], pa.int64()),
            "amount": pa.array([(i % 1000) * 1.25 for i in range(start, start + count)]),
            "status": pa.array([("paid", "shipped", "delivered")[i % 3] for i in range(count)]),
            "note": pa.array(
                [f"order {i} of customer {i % 10_007}" for i in range(start, start + count)]
            ),
        }
    )


def _median(action: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _figures(table: Any) -> tuple[Figures, Any]:
    from floe_dlt_destination_iceberg.maintenance import table_stats
    from floe_testing.duckdb_reader import read_iceberg

    table.refresh()
    stats = table_stats(table, TABLE)
    py_seconds, by_pyiceberg = _median(lambda: table.scan().to_arrow())
    location = table.metadata_location.removeprefix("file://")
    duck_seconds, by_duckdb = _median(lambda: read_iceberg(location))
    rows = by_pyiceberg.sort_by("id")
    assert by_duckdb.sort_by("id").select(rows.column_names).equals(rows), "readers disagree"
    figures = Figures(stats.data_files, stats.snapshots, stats.data_bytes, py_seconds, duck_seconds)
    return figures, rows


def _plain_parquet(paths: list[str], out: Path, codec: str) -> float:
    """Seconds to read ``paths`` with pyarrow and write them as one Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    data = pa.concat_tables(pq.read_table(p.removeprefix("file://")) for p in paths)
    pq.write_table(data, out, compression=codec)
    return time.perf_counter() - started


def _build(root: Path, appends: int, rows: int) -> tuple[Any, float]:
    import pyarrow.dataset as ds
    from floe_dlt_destination_iceberg import writer
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("bench", uri=f"sqlite:///{root}/c.db", warehouse=root.as_uri())
    catalog.create_namespace("bench")
    table = catalog.create_table(TABLE, schema=_rows(0, 1).schema)
    started = time.perf_counter()
    for index in range(appends):
        writer.append(table, ds.dataset(_rows(index * rows, rows)), {"floe.load-id": str(index)})
    return table, time.perf_counter() - started


def _compaction_vs_plain(table: Any, root: Path) -> tuple[Any, float, float, str]:
    """Compact ``table`` (compaction alone, timed) after timing a plain Parquet read + write of
    the same files (median of 3). Returns the report, both times and the codec."""
    from floe_core.spec import MaintenanceSpec
    from floe_dlt_destination_iceberg.maintenance import maintain_table

    inputs = [task.file.file_path for task in table.scan().plan_files()]
    codec = table.properties.get("write.parquet.compression-codec", "zstd")
    plain = statistics.median(
        _plain_parquet(inputs, root / f"plain-{i}.parquet", codec) for i in range(3)
    )
    compact = MaintenanceSpec.model_validate(
        {"compact": {"target_file_size_mb": TARGET_MB, "min_input_files": 2},
         "expire_snapshots": None,
         "remove_orphan_files": None}
    )  # fmt: skip
    started = time.perf_counter()
    report = maintain_table(table, TABLE, compact)
    return report, time.perf_counter() - started, plain, codec


def throughput(appends: int, rows: int, root: Path, repeat: int = 1) -> str:
    """Compaction throughput against a plain Parquet read + write of the same files: medians
    over ``repeat`` tables built alike (a table is compacted once)."""
    samples: list[tuple[float, float]] = []
    for index in range(repeat):
        folder = root / f"t{index}"
        folder.mkdir()
        table, _ = _build(folder, appends, rows)
        size = sum(task.file.file_size_in_bytes for task in table.scan().plan_files())
        report, seconds, plain, codec = _compaction_vs_plain(table, folder)
        samples.append((seconds, plain))
    seconds = statistics.median(s for s, _ in samples)
    plain = statistics.median(p for _, p in samples)
    mine, theirs = report.bytes_rewritten / seconds / 2**20, size / plain / 2**20
    ratio = statistics.median(s[1] / s[0] for s in samples)
    return (
        f"- compaction of {appends} appends of {rows:,} rows ({size / 2**20:.1f} MiB, "
        f"{report.data_files_before} files into {report.data_files_after}), median of {repeat}: "
        f"{seconds:.2f} s = {mine:.1f} MiB/s; plain Parquet read + write ({codec}): "
        f"{plain:.2f} s = {theirs:.1f} MiB/s; ratio {ratio:.2f} (per-run ratios "
        f"{', '.join(f'{p / s:.2f}' for s, p in samples)}; target >= 0.5: "
        f"{'met' if ratio >= 0.5 else 'missed'})"
    )


def run(appends: int, rows: int, root: Path) -> str:
    from floe_core.spec import MaintenanceSpec
    from floe_dlt_destination_iceberg.maintenance import maintain_table

    table, build_seconds = _build(root, appends, rows)
    before, rows_before = _figures(table)

    compacted, compact_seconds, plain, codec = _compaction_vs_plain(table, root)
    rest = MaintenanceSpec.model_validate(
        {"compact": None, "expire_snapshots": {"older_than": "0s", "retain_last": RETAIN_LAST}}
    )
    started = time.perf_counter()
    expired = maintain_table(table, TABLE, rest)
    rest_seconds = time.perf_counter() - started
    after, rows_after = _figures(table)
    assert rows_after.equals(rows_before), "rows changed"
    minimum = max(1, math.ceil(after.data_bytes / (TARGET_MB * 2**20)))
    throughput = compacted.bytes_rewritten / compact_seconds / 2**20
    plain_throughput = before.data_bytes / plain / 2**20
    lines = [
        f"## maintenance: {appends} appends of {rows:,} rows ({appends * rows:,} rows)",
        "",
        f"Built in {build_seconds:.1f} s by floe's writer (one commit per append). Policy: "
        f"compact to {TARGET_MB} MiB, expire older than 0s keeping {RETAIN_LAST}, orphans "
        "older than 3d.",
        "",
        "| | data files | snapshots | data MiB | pyiceberg full scan s | DuckDB full scan s |",
        "|---|---|---|---|---|---|",
        f"| before | {before.files} | {before.snapshots} | {before.data_bytes / 2**20:.1f} | "
        f"{before.pyiceberg_scan:.3f} | {before.duckdb_scan:.3f} |",
        f"| after | {after.files} | {after.snapshots} | {after.data_bytes / 2**20:.1f} | "
        f"{after.pyiceberg_scan:.3f} | {after.duckdb_scan:.3f} |",
        f"| after/before | | | | {after.pyiceberg_scan / before.pyiceberg_scan:.2f}x | "
        f"{after.duckdb_scan / before.duckdb_scan:.2f}x |",
        "",
        f"- rows identical before and after (pyiceberg and DuckDB): {rows_after.num_rows:,}",
        f"- files after: {after.files}, minimum for the target size: {minimum} "
        f"(target: within 2x: {'met' if after.files <= 2 * minimum else 'missed'})",
        f"- snapshots after: {after.snapshots} (target <= {RETAIN_LAST}: "
        f"{'met' if after.snapshots <= RETAIN_LAST else 'missed'}); expired "
        f"{expired.snapshots_expired}, files only they referenced deleted: "
        f"{expired.expired_files_deleted}",
        f"- compaction: {compacted.bytes_rewritten / 2**20:.1f} MiB rewritten in "
        f"{compact_seconds:.2f} s = {throughput:.1f} MiB/s; plain Parquet read + write of the "
        f"same files (pyarrow, {codec}): {plain:.2f} s = {plain_throughput:.1f} MiB/s; ratio "
        f"{throughput / plain_throughput:.2f} (target >= 0.5: "
        f"{'met' if throughput / plain_throughput >= 0.5 else 'missed'})",
        f"- expiry and orphan removal: {rest_seconds:.2f} s",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--large-appends", type=int, default=20)
    parser.add_argument("--large-rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3, help="tables compacted per throughput")
    args = parser.parse_args(argv)
    texts = []
    for job in (
        lambda root: run(args.appends, args.rows, root),
        lambda root: throughput(args.appends, args.rows, root, args.repeat),
        lambda root: throughput(args.large_appends, args.large_rows, root, args.repeat),
    ):
        root = Path(tempfile.mkdtemp(prefix="floe-maintenance-"))
        try:
            texts.append(job(root))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    text = "\n".join(texts)
    print(text)
    return text


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
