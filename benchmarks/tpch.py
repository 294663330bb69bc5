"""TPC-H ``lineitem`` from PostgreSQL into Iceberg: floe against ingestr, dlt-iceberg, plain dlt
and a streamed connectorx -> pyiceberg load. Run by ``run.py --suite tpch``.

    uv run python benchmarks/run.py --suite tpch --tpch-scale 1 --repeat 3

Phases, each tool in its own process (wall time and peak RSS from ``wait4``), repetitions
alternating between tools, medians of ``--repeat``: the initial load (append); the first run of
an incremental merge load (cursor ``l_updated_at``, primary key (l_orderkey, l_linenumber)) into
an empty table; after it, 10% of the rows changed and 10% added, the second run (the merge).
Also an initial load of the ``--rows`` SQLite benchmark table, floe against the streamed path.
Every load is read back by pyiceberg and by DuckDB and must hold the rows and the
sum(l_extendedprice) PostgreSQL holds at that moment, with no key twice; a load that does not is
reported as failed, without figures. The peers run through ``benchmarks/peers.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tpch_data as source  # noqa: E402
from data import make_sqlite  # noqa: E402

WORK = HERE / ".data" / "work" / "tpch"
PEERS = ("ingestr", "dlt_iceberg")
INITIAL, INCREMENTAL, MERGE, SQLITE = (
    "initial load",
    "incremental first run",
    "merge",
    "initial load, SQLite",
)
RSS_LIMIT, MERGE_RSS_LIMIT = 600, 1024  # MiB


class LoadFailedError(Exception):
    """A load that failed, or whose table does not hold what the source holds."""


@dataclass
class Sample:
    seconds: float
    rss_mib: float
    rows: int
    data_files: int
    delete_files: int
    snapshots: int
    commits: int
    unreadable: list[str]


@dataclass
class Series:
    phase: str
    tool: str
    samples: list[Sample] = field(default_factory=list)
    failure: str | None = None
    not_run: str | None = None

    def median(self, attr: str) -> float:
        return float(statistics.median(getattr(s, attr) for s in self.samples))


def _process(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; its wall time and peak RSS (MiB, its waited-for descendants included)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    stdout = proc.stdout.read() if proc.stdout else ""
    stderr = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        last = (stderr.strip() or stdout.strip() or "no output").splitlines()[-1]
        last = last if len(last) <= 240 else "..." + last[-240:]  # where the error is named
        raise LoadFailedError(f"exit {os.waitstatus_to_exitcode(status)}: {last}")
    json.loads(stdout.strip().splitlines()[-1])  # each path prints its JSON line last
    return seconds, usage.ru_maxrss / 1024


def _command(tool: str, mode: str, workdir: Path, pg_url: str, table: str) -> list[str]:
    if tool in PEERS:
        args = {
            "workdir": str(workdir),
            "pg_url": pg_url,
            "source_table": f"public.{table}",
            "table": table,
            "cursor": source.CURSOR,
            "primary_key": source.KEY,
        }
        return [sys.executable, str(HERE / "peers.py"), tool, mode, json.dumps(args)]
    args = {"workdir": str(workdir), "url": pg_url, "cx_url": pg_url, "table": table}
    return [sys.executable, str(HERE / "paths.py"), tool, json.dumps(args)]


def _floe_yaml(workdir: Path, url: str, table: str, incremental: bool) -> None:
    config = f"{{credentials: '{url}', tables: [{table}]"
    destination = "{namespace: bench}"
    if incremental:
        config += f", cursor_field: {source.CURSOR}"
        destination = (
            f"{{namespace: bench, write_mode: merge, primary_key: [{', '.join(source.KEY)}]}}"
        )
    (workdir / "floe.yaml").write_text(
        "catalog: {type: sql, uri: 'sqlite:///catalog.db', warehouse: warehouse}\n"
        "ingestion:\n  pipelines_dir: pipelines\n  sources:\n    - name: bench\n"
        f"      type: sql_database\n      config: {config}}}\n"
        f"      destination: {destination}\n",
        encoding="utf-8",
    )


def _fresh(workdir: Path) -> Path:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return workdir


def _matches(got: dict[str, Any], rows: int, total: Decimal) -> str | None:
    """Why one reader's figures differ from the source's, or None."""
    if got["rows"] != rows:
        return f"{got['rows']:,} rows, the source has {rows:,}"
    value = Decimal(got["sum"])
    # A float column's sum may be off by rounding; by one row's value (at least 1) it may not.
    off = abs(value - total)
    if (got["exact"] and off) or off > Decimal("0.5"):
        return f"sum(l_extendedprice) {value}, the source has {total}"
    if got["duplicates"]:
        return f"{got['duplicates']:,} rows repeat a key"
    return None


def _check(
    workdir: Path, table: str, key: list[str], expected: tuple[int, Decimal]
) -> dict[str, Any]:
    """Read the table back (in a child process) and compare it with the source."""
    args = {"workdir": str(workdir), "table": table, "key": key, "value": "l_extendedprice"}
    if table == "events":
        args["value"] = "amount"
    out = subprocess.run(
        [sys.executable, str(HERE / "readback.py"), json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode < 0:
        raise LoadFailedError(f"read back: the reader was killed by signal {-out.returncode}")
    if out.returncode != 0:
        raise LoadFailedError(
            f"read back: {(out.stderr.strip() or 'no output').splitlines()[-1][:200]}"
        )
    found: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    unreadable = []
    for reader in ("pyiceberg", "duckdb"):
        if "error" in found[reader]:
            unreadable.append(f"{reader} cannot read it ({found[reader]['error']})")
        elif (why := _matches(found[reader], *expected)) is not None:
            raise LoadFailedError(f"{reader} reads {why}")
    # a table neither reader can read is reported with its time, as not verified
    found["unreadable"] = unreadable
    return found


def _run(
    series: Series,
    cmd: list[str],
    workdir: Path,
    table: str,
    key: list[str],
    expected: tuple[int, Decimal],
    before: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """One timed, verified load; the read-back figures, or None when it failed."""
    label = f"  [tpch {series.phase}] {series.tool:<16}"
    if series.failure or series.not_run:
        return None
    try:
        seconds, rss = _process(cmd)
        found = _check(workdir, table, key, expected)
    except LoadFailedError as exc:
        series.failure = str(exc)
        print(f"{label} FAILED: {exc}", flush=True)
        return None
    earlier = before or {"snapshots": 0, "commits": 0}
    sample = Sample(
        seconds,
        rss,
        expected[0],
        found["data_files"],
        found["delete_files"],
        found["snapshots"] - earlier["snapshots"],
        found["commits"] - earlier["commits"],
        found["unreadable"],
    )
    series.samples.append(sample)
    print(
        f"{label} {sample.rows:>10,} rows {seconds:7.2f} s {rss:7.0f} MiB "
        f"files {sample.data_files}+{sample.delete_files} deletes snapshots {sample.snapshots} commits {sample.commits}"
        + "".join(f"; {u}" for u in sample.unreadable),
        flush=True,
    )
    return found


def _warm_up(tool: str, series: list[Series]) -> None:
    """A first, untimed load of a 1,000-row table: the peer sets up its environment."""
    workdir = _fresh(WORK / "warm-up" / tool)
    try:
        _process(_command(tool, "append", workdir, source.PG_URL, source.SAMPLE))
    except LoadFailedError as exc:
        for item in series:
            item.failure = f"first run on the 1,000-row table: {exc}"


def run(scale: float, repeat: int, sqlite_rows: int) -> list[Series]:
    out = subprocess.run(
        [sys.executable, str(HERE / "tpch_data.py"), "prepare", f"{scale:g}"],
        check=True,
        capture_output=True,
        text=True,
    )
    print(f"  lineitem at scale {scale:g}: {int(out.stdout.split()[-1]):,} rows", flush=True)
    db = make_sqlite(HERE / ".data" / f"events_{sqlite_rows}.db", sqlite_rows)
    sqlite_url = f"sqlite:///{db}"
    conn = source.connect()
    phases = {
        INITIAL: ["floe", "dlt_connectorx", "stream_connectorx", *PEERS],
        SQLITE: ["floe", "stream_connectorx"],
        INCREMENTAL: ["floe", *PEERS],
        MERGE: ["floe", *PEERS],
    }
    series = {(p, t): Series(p, t) for p, tools in phases.items() for t in tools}
    for tool in PEERS:
        of_tool = [s for (_, t), s in series.items() if t == tool]
        if not (HERE / "peers.py").exists():
            for item in of_tool:
                item.not_run = "not run: benchmarks/peers.py is not there"
        else:
            _warm_up(tool, of_tool)
    table, key = source.TABLE, source.KEY
    events = (sqlite_rows, _sqlite_total(db))
    for rep in range(repeat):
        print(f"  repetition {rep + 1}/{repeat}", flush=True)
        initial = source.expected(conn)
        for tool in phases[INITIAL]:
            workdir = _fresh(WORK / "initial" / tool)
            if tool == "floe":
                _floe_yaml(workdir, source.PG_URL, table, incremental=False)
            cmd = _command(tool, "append", workdir, source.PG_URL, table)
            _run(series[INITIAL, tool], cmd, workdir, table, key, initial)
        for tool in phases[SQLITE]:
            workdir = _fresh(WORK / "sqlite" / tool)
            if tool == "floe":
                _floe_yaml(workdir, sqlite_url, "events", incremental=False)
            cmd = _command(tool, "append", workdir, sqlite_url, "events")
            _run(series[SQLITE, tool], cmd, workdir, "events", ["id"], events)
        for tool in phases[INCREMENTAL]:
            if series[INCREMENTAL, tool].not_run:
                continue
            workdir = _fresh(WORK / "incremental" / tool)
            if tool == "floe":
                _floe_yaml(workdir, source.PG_URL, table, incremental=True)
            cmd = _command(tool, "incremental", workdir, source.PG_URL, table)
            first = _run(series[INCREMENTAL, tool], cmd, workdir, table, key, initial)
            if first is None:
                series[MERGE, tool].failure = series[MERGE, tool].failure or "the first run failed"
                continue
            source.change(conn)
            try:
                cmd = _command(tool, "merge", workdir, source.PG_URL, table)
                changed = source.expected(conn)
                _run(series[MERGE, tool], cmd, workdir, table, key, changed, before=first)
            finally:
                source.reset(conn)
    conn.close()
    return list(series.values())


def _sqlite_total(db: Path) -> Decimal:
    import sqlite3

    with sqlite3.connect(db) as conn:
        # The column is a double: summed as exact decimals of its stored values.
        values = conn.execute("SELECT amount FROM events")
        return sum((Decimal(repr(v)) for (v,) in values), Decimal(0))


def main(scale: float, repeat: int, sqlite_rows: int) -> str:
    from tpch_report import report

    return report(run(scale, repeat, sqlite_rows), scale, repeat, sqlite_rows)
