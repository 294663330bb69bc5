"""Backfill: a PostgreSQL table loaded by one serial run against its daily partitions loaded as
Dagster runs, a few at a time, into one Iceberg table.

    uv run python benchmarks/backfill.py [--rows 6000000] [--days 8] [--at-once 4] [--repeat 3]

The source table (``backfill_events`` in the ``floe_bench`` database: a bigint primary key, a
timestamp spread evenly over ``--days`` days from 2024-01-01 and indexed, a numeric(12,2)
amount, two texts) is generated with ``generate_series`` and reused while it holds ``--rows``
rows over ``--days`` days. Each repetition runs, in this order:

- ``serial``: ``floe ingest run --json`` of a source of the whole table, without partitions;
- ``parallel``: the same table as a source partitioned by day, each day one Dagster run with the
  multiprocess executor (``python -m floe_testing.dagster_run events --partition DAY
  --multiprocess``: the run's process starts its step in a child process), ``--at-once`` runs at
  a time, on one Dagster instance, committing to one Iceberg table.

Both write to a SQL catalog on SQLite with a local warehouse, in a fresh folder each time.
Seconds are whole-process wall time; the parallel mode's from its first run's start to its last
run's end. Peak RSS is ``ru_maxrss`` from ``os.wait4``: on Linux the largest of the process and
of the descendants it waited for (a partition run's step process included: each run reports its
own and its step's figures and the report checks both are covered), not their sum. Each result
is read back with pyiceberg and with DuckDB: rows, distinct ids and the sum of ``amount`` must be
the source's, with one snapshot per run (and every partition once), or it is marked failed.
Also run by ``run.py --suite backfill``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE / ".data" / "work" / "backfill"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/floe_bench"
TABLE = "backfill_events"
NAMESPACE = "bench"
START = date(2024, 1, 1)

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


@dataclass
class Totals:
    """Rows, distinct ids and the sum of ``amount`` of a table."""

    rows: int
    ids: int
    amount: Decimal

    def __str__(self) -> str:
        return f"{self.rows:,} rows, {self.ids:,} ids, amount {self.amount}"


@dataclass
class Source:
    """The source table: its totals, its rows per day, the server's version."""

    totals: Totals
    per_day: dict[str, int]
    server: str


@dataclass
class Run:
    """One process: the serial load or one partition run."""

    key: str
    seconds: float
    rss_mib: float
    rows: int
    cpu_seconds: float = 0.0  # user + system, the process's and its waited-for descendants'
    retries: int = 0
    conflicts: int = 0
    step_seconds: float | None = None
    before_step: float | None = None  # from the process's start to its step's start
    after_step: float | None = None  # from its step's end to the process's end
    own_mib: float | None = None  # the run process's own peak (its summary)
    step_mib: float | None = None  # its largest waited-for child's: the step process


@dataclass
class Result:
    """One repetition of one mode, read back."""

    mode: str
    seconds: float = 0.0
    runs: list[Run] = field(default_factory=list)
    snapshots: int = 0
    snapshot_conflicts: int = 0
    failure: str | None = None


def source_table(url: str, rows: int, days: int) -> Source:
    """Create (or reuse) the source table."""
    import psycopg2

    base, name = url.rsplit("/", 1)
    admin = psycopg2.connect(f"{base}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE DATABASE {name}")
    admin.close()
    label = f"{rows} rows over {days} days from {START}"
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", (TABLE,))
        if cur.fetchone()[0] != label:
            print(f"  generating {TABLE}: {label}", flush=True)
            cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
            cur.execute(
                f"""CREATE TABLE {TABLE} (id bigint PRIMARY KEY, at timestamp NOT NULL,
                amount numeric(12, 2) NOT NULL, customer text NOT NULL, status text NOT NULL)"""
            )
            cur.execute(
                f"""INSERT INTO {TABLE} SELECT i, timestamp '{START}' + i * interval '{days} days'
                / {rows}, (i * 7919 % 1000000) / 100.0, 'customer ' || i % 50000,
                (ARRAY['paid', 'shipped', 'delivered', 'refunded'])[1 + i % 4]
                FROM generate_series(0::bigint, {rows - 1}) AS i"""
            )
            cur.execute(f"CREATE INDEX ON {TABLE} (at)")
            cur.execute(f"COMMENT ON TABLE {TABLE} IS '{label}'")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"ANALYZE {TABLE}")
        cur.execute(f"SELECT count(*), count(DISTINCT id), sum(amount) FROM {TABLE}")
        count, ids, amount = cur.fetchone()
        cur.execute(f"SELECT at::date, count(*) FROM {TABLE} GROUP BY 1")
        per_day = {f"{day}": n for day, n in cur.fetchall()}
        cur.execute("SHOW server_version")
        server = cur.fetchone()[0]
    conn.close()
    return Source(Totals(count, ids, Decimal(amount)), per_day, server)


def _fresh(workdir: Path, url: str, partitioned: bool) -> Path:
    """A new folder with floe.yaml (a SQL catalog on SQLite and a warehouse beside it)."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    partitions = f"\n      partitions: {{column: at, start: {START}, every: day}}"
    (workdir / "floe.yaml").write_text(
        "catalog: {type: sql, uri: 'sqlite:///catalog.db', warehouse: warehouse}\n"
        "ingestion:\n  pipelines_dir: pipelines\n  sources:\n    - name: events\n"
        f"      type: sql_database\n      config: {{credentials: '{url}', tables: [{TABLE}]}}\n"
        f"      destination: {{namespace: {NAMESPACE}}}{partitions if partitioned else ''}\n",
        encoding="utf-8",
    )
    return workdir


def _start(command: list[str], workdir: Path, name: str, env: dict[str, str] | None = None) -> Any:
    """Start ``command`` in ``workdir``, its output in ``name``.out and ``name``.log there."""
    with (workdir / f"{name}.out").open("wb") as out, (workdir / f"{name}.log").open("wb") as log:
        return subprocess.Popen(command, cwd=workdir, env=env, stdout=out, stderr=log)


def _ended(workdir: Path, name: str, status: int) -> dict[str, Any]:
    """The JSON a process printed last, or a ``RuntimeError`` with its error output."""
    code = os.waitstatus_to_exitcode(status)
    out = (workdir / f"{name}.out").read_text(errors="replace").strip()
    if code != 0 or not out:
        log = (workdir / f"{name}.log").read_text(errors="replace").strip()
        last = (log or out or "no output").splitlines()[-1]
        raise RuntimeError(f"{name} exited {code}: {last[:300]}")
    try:
        found: dict[str, Any] = json.loads(out)  # floe's summary, indented
    except json.JSONDecodeError:
        found = json.loads(out.splitlines()[-1])  # dagster_run's, after its logs
    return found


def serial(workdir: Path) -> Result:
    """``floe ingest run --json`` of the whole table, one process."""
    floe = str(Path(sys.executable).with_name("floe"))
    started = time.perf_counter()
    proc = _start([floe, "ingest", "run", "--json"], workdir, "serial")
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    summary = _ended(workdir, "serial", status)
    rows = sum(int(s["rows_loaded"]) for s in summary["sources"])
    run = Run("all", seconds, usage.ru_maxrss / 1024, rows, usage.ru_utime + usage.ru_stime)
    run.step_seconds = sum(float(s["duration_seconds"]) for s in summary["sources"])
    return Result("serial", seconds, [run])


def parallel(workdir: Path, keys: list[str], at_once: int) -> Result:
    """One Dagster run per partition key, ``at_once`` at a time, on one instance."""
    home = workdir / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    # the instance's storage, created before runs starting together each try to create it
    create = "import sys, dagster; dagster.DagsterInstance.from_config(sys.argv[1]).dispose()"
    subprocess.run([sys.executable, "-c", create, str(home)], check=True, capture_output=True)
    env = {**os.environ, "FLOE_CONFIG": str(workdir / "floe.yaml"), "DAGSTER_HOME": str(home)}
    command = [sys.executable, "-m", "floe_testing.dagster_run", "events", "--multiprocess"]
    waiting = list(keys)
    running: dict[int, tuple[str, Any, float, float]] = {}  # pid: key, process, started (twice)
    result = Result("parallel")
    errors = []
    started = time.perf_counter()
    while waiting or running:
        while waiting and len(running) < at_once:
            key = waiting.pop(0)
            proc = _start([*command, "--partition", key], workdir, f"run-{key}", env)
            running[proc.pid] = (key, proc, time.perf_counter(), time.time())
        pid, status, usage = os.wait4(-1, 0)
        ended = time.time()
        key, proc, began, began_at = running.pop(pid)
        seconds = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        try:
            summary = _ended(workdir, f"run-{key}", status)
        except RuntimeError as exc:
            errors.append(str(exc))
            continue
        peaks = summary.get("peak_rss_kib") or {}
        run = Run(
            key,
            seconds,
            usage.ru_maxrss / 1024,
            rows=sum(int(n) for n in summary["rows_loaded"].values()),
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            retries=int(summary["retries"]),
            conflicts=sum(int(n) for n in summary["commit_conflicts"].values()),
            step_seconds=summary["step_seconds"],
            own_mib=peaks["process"] / 1024 if "process" in peaks else None,
            step_mib=peaks["children"] / 1024 if "children" in peaks else None,
        )
        if summary["steps"]:
            run.before_step = summary["steps"][0] - began_at
            run.after_step = ended - summary["steps"][1]
        result.runs.append(run)
    result.seconds = time.perf_counter() - started
    result.runs.sort(key=lambda run: run.key)
    if errors:
        result.failure = "; ".join(errors)
    return result


def read_back(workdir: Path) -> dict[str, Any]:
    """The table's totals read by pyiceberg and by DuckDB, and its snapshots' floe properties
    (run in a child process: the readers' memory stays out of later runs' figures)."""
    out = subprocess.run(
        [sys.executable, __file__, "--read-back", str(workdir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"read-back failed: {(out.stderr or out.stdout).strip()[-300:]}")
    found: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def _read_back(workdir: Path) -> dict[str, Any]:
    import pyarrow.compute as pc
    from floe_dlt_destination_iceberg.writer import CONFLICTS_PROPERTY, LOAD_ID_PROPERTY
    from floe_testing.duckdb_reader import read_iceberg
    from paths import _catalog

    table = _catalog(workdir).load_table(f"{NAMESPACE}.{TABLE}")
    data = table.scan(selected_fields=("id", "amount")).to_arrow()
    duck = read_iceberg(
        table.metadata_location,
        "SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(amount) AS amount FROM t",
    ).to_pylist()[0]
    snapshots = []
    for snapshot in table.metadata.snapshots:
        get = snapshot.summary.get if snapshot.summary is not None else {}.get
        snapshots.append(
            {
                "load_id": get(LOAD_ID_PROPERTY, ""),
                "pipeline": get("floe.pipeline", ""),
                "conflicts": int(get(CONFLICTS_PROPERTY, 0) or 0),
            }
        )
    return {
        "pyiceberg": [
            data.num_rows,
            pc.count_distinct(data["id"]).as_py(),
            str(pc.sum(data["amount"]).as_py()),
        ],
        "duckdb": [duck["n"], duck["ids"], str(duck["amount"])],
        "snapshots": snapshots,
    }


def verify(result: Result, workdir: Path, totals: Totals, per_day: dict[str, int]) -> None:
    """Mark ``result`` failed unless the table read back (pyiceberg and DuckDB) holds the
    source's rows, ids and amount, with one snapshot per run and each run's rows its own."""
    problems = []
    try:
        found = read_back(workdir)
    except RuntimeError as exc:
        result.failure = str(exc)
        return
    for reader in ("pyiceberg", "duckdb"):
        rows, ids, amount = found[reader]
        read = Totals(int(rows), int(ids), Decimal(amount))
        if read != totals:
            problems.append(f"{reader} read {read}, the source has {totals}")
    snapshots = found["snapshots"]
    result.snapshots = len(snapshots)
    result.snapshot_conflicts = sum(s["conflicts"] for s in snapshots)
    loads = {s["load_id"] for s in snapshots}
    if len(snapshots) != len(result.runs) or len(loads) != len(snapshots):
        problems.append(
            f"{len(snapshots)} snapshots of {len(loads)} loads after {len(result.runs)} runs"
        )
    if result.mode == "serial":
        result.runs[0].conflicts = result.snapshot_conflicts
        expected = {"all": totals.rows}
    else:
        windows = sorted(s["pipeline"].rsplit("__w", 1)[-1] for s in snapshots)
        if windows != sorted(key.replace("-", "") for key in per_day):
            problems.append(f"snapshots of windows {', '.join(windows)}")
        expected = dict(per_day)
        reported = sum(run.conflicts for run in result.runs)
        if reported != result.snapshot_conflicts:
            problems.append(
                f"the runs reported {reported} commit conflicts, the snapshots record "
                f"{result.snapshot_conflicts}"
            )
    loaded = {run.key: run.rows for run in result.runs}
    if loaded != expected:
        wrong = [f"{k}: {loaded.get(k)} of {n}" for k, n in expected.items() if loaded.get(k) != n]
        problems.append(f"rows loaded per run differ from the source's ({'; '.join(wrong)})")
    if problems:
        result.failure = "; ".join(problems)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _row(label: str, done: list[Result], repeat: int) -> str:
    """One mode's line of the report's table: medians over its verified repetitions."""
    if not done:
        return f"| {label} | **FAILED** every repetition | | | | | | |"
    runs = [run for r in done for run in r.runs]
    rss = f"{_median([run.rss_mib for run in runs]):.0f}"
    if len(done[0].runs) > 1:
        rss += f" median, {max(run.rss_mib for run in runs):.0f} max per run"
    retries = sum(run.retries for run in runs) if done[0].mode == "parallel" else "-"
    verified = "ok" if len(done) == repeat else f"**FAILED** {repeat - len(done)} of {repeat}"
    return (
        f"| {label} | {_median([r.seconds for r in done]):.2f} | "
        f"{_median([sum(run.cpu_seconds for run in r.runs) for r in done]):.1f} | {rss} | "
        f"{_median([r.snapshots for r in done]):.0f} | "
        f"{sum(r.snapshot_conflicts for r in done)} | {retries} | {verified} |"
    )


def report(results: list[Result], source: Source, args: argparse.Namespace) -> str:
    from importlib.metadata import version

    totals = source.totals
    serials = [r for r in results if r.mode == "serial" and r.failure is None]
    backfills = [r for r in results if r.mode == "parallel" and r.failure is None]
    runs = [run for r in backfills for run in r.runs]
    lines = [
        f"## backfill: {totals.rows:,} rows, {args.days} daily partitions, {args.at_once} at once",
        "",
        f"PostgreSQL {source.server} `{TABLE}` ({totals.rows // args.days:,} rows a day, "
        "indexed on its timestamp) into a SQL catalog on SQLite with a local warehouse; "
        f"Dagster {version('dagster')}. Medians of "
        f"{args.repeat} repetitions (serial, then parallel, in each); whole-process wall time; "
        "CPU seconds are user + system of the processes and their waited-for descendants "
        f"({os.cpu_count()} cores); commit conflicts and Dagster retries are sums over every "
        "repetition.",
        "",
        "| | wall s | CPU s | peak RSS MiB | snapshots | commit conflicts | Dagster retries "
        "| read back |",
        "|---|---|---|---|---|---|---|---|",
        _row("serial: one `floe ingest run`", serials, args.repeat),
        _row(f"parallel: {args.days} Dagster runs, {args.at_once} at once", backfills, args.repeat),
        "",
    ]
    if serials and backfills:
        speedup = _median([r.seconds for r in serials]) / _median([r.seconds for r in backfills])
        each = ", ".join(
            " / ".join("failed" if r.failure else f"{r.seconds:.2f}" for r in pair)
            for pair in zip(results[0::2], results[1::2], strict=True)
        )
        lines.append(
            f"- speedup, serial / parallel wall time: **{speedup:.2f}** "
            f"({'the backfill was faster' if speedup > 1 else 'below 1: the backfill was slower'}"
            f"; each repetition's seconds, serial / parallel: {each})"
        )
    if serials:
        lines.append(
            f"- the serial run: {_median([r.runs[0].step_seconds or 0.0 for r in serials]):.2f} s "
            "of load (`duration_seconds` in floe's summary), the rest the process starting"
        )
    if runs:
        covered = all(
            run.own_mib is not None
            and run.step_mib
            and run.rss_mib >= max(run.own_mib, run.step_mib)
            for run in runs
        )
        lines += [
            f"- a partition run, medians: {_median([run.seconds for run in runs]):.2f} s, "
            f"{_median([run.cpu_seconds for run in runs]):.1f} CPU s; "
            f"{_median([run.before_step or 0.0 for run in runs]):.2f} s before its step starts "
            "(the run process starts and loads the code location, then starts the step process, "
            "which loads it again), "
            f"{_median([run.step_seconds or 0.0 for run in runs]):.2f} s of step (the load), "
            f"{_median([run.after_step or 0.0 for run in runs]):.2f} s after it (the step's "
            "times from Dagster's event log)",
            "- peak RSS of a partition run (`wait4`) is the larger of its run process's "
            f"({_median([run.own_mib or 0.0 for run in runs]):.0f} MiB median) and its step "
            f"process's ({_median([run.step_mib or 0.0 for run in runs]):.0f} MiB median, "
            f"{max(run.step_mib or 0.0 for run in runs):.0f} max), not their sum: both live "
            f"through the step, and {args.at_once} runs at once hold {args.at_once} of each. "
            f"Every step process covered by its run's figure: {'yes' if covered else '**NO**'}",
            f"- commit conflicts: {sum(run.conflicts for run in runs)} reported by the runs, "
            f"{sum(r.snapshot_conflicts for r in backfills)} recorded in the snapshots "
            "(`floe.commit-conflicts`). Dagster retries: steps put up for retry; floe's assets "
            "have no retry policy (the engine retries transient errors inside the step)",
        ]
    for done in (serials, backfills):
        if done:
            lines.append(
                f"- read back by pyiceberg and by DuckDB, every verified {done[0].mode} result: "
                f"{totals}, the source's; one snapshot per run"
            )
    lines += [
        f"- **FAILED**: {r.mode}, repetition {i // 2 + 1}: {r.failure}"
        for i, r in enumerate(results)
        if r.failure is not None
    ]
    if backfills:
        lines += [
            "",
            f"The parallel runs of the last verified repetition ({backfills[-1].seconds:.2f} s):",
            "",
            "| partition | rows | wall s | CPU s | before step s | step s | after s "
            "| peak RSS MiB | run process | step process | conflicts | retries |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {run.key} | {run.rows:,} | {run.seconds:.2f} | {run.cpu_seconds:.1f} | "
            f"{run.before_step or 0:.2f} | {run.step_seconds or 0:.2f} | "
            f"{run.after_step or 0:.2f} | {run.rss_mib:.0f} | {run.own_mib or 0:.0f} | "
            f"{run.step_mib or 0:.0f} | {run.conflicts} | {run.retries} |"
            for run in backfills[-1].runs
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> tuple[str, bool]:
    """Run the benchmark; the report and whether every result was verified."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=6_000_000)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--at-once", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=POSTGRES, help="the database of the source table")
    args = parser.parse_args(argv)
    source = source_table(args.postgres, args.rows, args.days)
    keys = [f"{START + timedelta(days=i)}" for i in range(args.days)]
    if sorted(source.per_day) != keys:
        raise SystemExit(f"{TABLE} has rows on {sorted(source.per_day)}, not on {keys}")
    results: list[Result] = []
    for rep in range(args.repeat):
        for mode in ("serial", "parallel"):
            workdir = _fresh(WORK / mode, args.postgres, partitioned=mode == "parallel")
            try:
                result = (
                    serial(workdir) if mode == "serial" else parallel(workdir, keys, args.at_once)
                )
            except RuntimeError as exc:
                result = Result(mode, failure=str(exc))
            if result.failure is None:
                verify(result, workdir, source.totals, source.per_day)
            results.append(result)
            rss = max((run.rss_mib for run in result.runs), default=0.0)
            state = "ok" if result.failure is None else f"FAILED: {result.failure}"
            print(
                f"  [backfill {rep + 1}/{args.repeat}] {mode:<8} "
                f"{sum(run.rows for run in result.runs):>10,} rows {result.seconds:8.2f} s "
                f"{rss:6.0f} MiB max  snapshots {result.snapshots}  "
                f"conflicts {result.snapshot_conflicts}  {state}",
                flush=True,
            )
    text = report(results, source, args)
    print(text)
    return text, all(r.failure is None for r in results)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--read-back"]:
        print(json.dumps(_read_back(Path(sys.argv[2]))))
        sys.exit(0)
    sys.exit(0 if main()[1] else 1)
