"""Side-by-side benchmarks: floe against plain dlt and the raw Arrow-to-Iceberg limit.

    uv run python benchmarks/run.py --rows 1000000 --suite all --repeat 3

Every path runs in its own process, repetitions alternate between paths, and the report gives
medians: rows/s, the ratio to the raw baseline and to plain dlt, peak RSS, snapshots per load.
Results go to benchmarks/results/<date>.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from data import make_sqlite  # noqa: E402
from paths import snapshots, table_rows  # noqa: E402

DATA = HERE / ".data"
RESULTS = HERE / "results"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "floe_bench"
RAW_PATHS = ("raw_connectorx", "raw_pyarrow_file", "raw_requests_pyarrow")
PLAIN_PATHS = ("dlt_default", "dlt_pyarrow", "dlt_rest_api")


@dataclass
class Sample:
    seconds: float
    rows: int
    rss_mib: float
    snapshots: int


@dataclass
class Series:
    suite: str
    path: str
    samples: list[Sample] = field(default_factory=list)
    failure: str | None = None

    def median(self, attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in self.samples)

    @property
    def rows_per_second(self) -> float:
        return statistics.median(s.rows / s.seconds for s in self.samples)


def run_path(path: str, args: dict[str, Any]) -> Sample:
    """Run one path in a child process; wall time and peak RSS are that process's own."""
    cmd = [sys.executable, str(HERE / "paths.py"), path, json.dumps(args)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    stdout = proc.stdout.read() if proc.stdout else ""
    stderr = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{path} failed: {stderr[-3000:]}{stdout[-1000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    # On Linux a child's ru_maxrss from wait4 covers its waited-for descendants too, so the floe
    # path (which runs the floe command as a grandchild) reports the CLI's peak.
    count = snapshots(Path(args["workdir"]), args["table"])
    return Sample(seconds, result["rows"], usage.ru_maxrss / 1024, count)


def fresh(workdir: Path) -> Path:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return workdir


def write_floe_yaml(
    workdir: Path, config: str, destination: str, source_type: str = "sql_database"
) -> None:
    (workdir / "floe.yaml").write_text(
        "catalog: {type: sql, uri: 'sqlite:///catalog.db', warehouse: warehouse}\n"
        "ingestion:\n  pipelines_dir: pipelines\n  sources:\n    - name: bench\n"
        f"      type: {source_type}\n      config: {config}\n"
        f"      destination: {destination}\n",
        encoding="utf-8",
    )


def files_suite(sqlite_db: Path, repeat: int) -> list[Series]:
    """Parquet and CSV files of the benchmark table: floe's filesystem source against one
    pyarrow read + pyiceberg append."""
    folder = DATA / f"files_{sqlite_db.stem}"
    if not folder.exists():
        subprocess.run(
            [sys.executable, __file__, "--prepare-files", str(sqlite_db), "--rows", "0"],
            check=True,
        )
    out: list[Series] = []
    for fmt in ("parquet", "csv"):
        file = folder / f"events.{fmt}"
        series = {p: Series(f"files {fmt}", p) for p in ("floe", "raw_pyarrow_file")}
        for rep in range(repeat):
            for path, item in series.items():
                workdir = fresh(DATA / "work" / f"files_{fmt}" / path)
                write_floe_yaml(
                    workdir,
                    f"{{bucket_url: '{folder}', file_glob: 'events.{fmt}', table_name: events}}",
                    "{table: bench.events}",
                    source_type="filesystem",
                )
                args = {"workdir": str(workdir), "file": str(file), "table": "events"}
                sample = run_path(path, args)
                item.samples.append(sample)
                print(
                    f"  [files {fmt} {rep + 1}/{repeat}] {path:<20} {sample.rows:>9,} rows "
                    f"{sample.seconds:7.2f} s {sample.rss_mib:7.0f} MiB",
                    flush=True,
                )
        out += list(series.values())
    return out


def rest_suite(items: int, page_size: int, repeat: int) -> list[Series]:
    """The loopback items API (``floe_testing.rest_server``), served from a thread of this
    process: floe's ``rest_api`` source against dlt's ``rest_api_source`` and sequential
    ``requests`` pages + one pyiceberg append. Every path reads the same pages."""
    from floe_testing.rest_server import ItemsServer, rest_source

    paths = ["floe", "dlt_rest_api", "raw_requests_pyarrow"]
    series = {p: Series("rest", p) for p in paths}
    with ItemsServer(items) as server:
        source = rest_source(server.url, namespace="bench", page_size=page_size, incremental=False)
        for rep in range(repeat):
            for path in paths:
                workdir = fresh(DATA / "work" / "rest" / path)
                write_floe_yaml(
                    workdir,
                    json.dumps(source["config"]),
                    json.dumps(source["destination"]),
                    source_type="rest_api",
                )
                args = {
                    "workdir": str(workdir),
                    "url": server.url,
                    "page_size": page_size,
                    "spec": source["config"],
                    "table": "items",
                }
                if series[path].failure:
                    continue
                try:
                    sample = run_path(path, args)
                    stored = table_rows(workdir, "items")
                    if sample.rows != items or stored != items:
                        raise RuntimeError(
                            f"{items:,} items served, {sample.rows:,} reported loaded, "
                            f"{stored:,} in the table"
                        )
                except RuntimeError as exc:
                    series[path].failure = str(exc).strip().splitlines()[-1][:200]
                    print(f"  [rest {rep + 1}/{repeat}] {path:<20} FAILED: {series[path].failure}")
                    continue
                series[path].samples.append(sample)
                print(
                    f"  [rest {rep + 1}/{repeat}] {path:<20} {sample.rows:>9,} rows "
                    f"{sample.seconds:7.2f} s {sample.rss_mib:7.0f} MiB",
                    flush=True,
                )
    return list(series.values())


def _prepare_files(sqlite_db: Path) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    sys.path.insert(0, str(HERE))
    from paths import _read_sqlite3

    table = _read_sqlite3({"url": f"sqlite:///{sqlite_db}", "table": "events"})
    folder = DATA / f"files_{sqlite_db.stem}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "events.parquet")
    pcsv.write_csv(table, folder / "events.csv")


def sql_suite(
    name: str, url: str, cx_url: str, table: str, repeat: int, paths: list[str] | None = None
) -> list[Series]:
    if paths is None:
        paths = ["floe", "dlt_default", "dlt_pyarrow", "dlt_connectorx", "raw_connectorx"]
        if url.startswith("sqlite"):
            paths.append("raw_sqlite3_pyarrow")
    series = {p: Series(name, p) for p in paths}
    for rep in range(repeat):
        for path in paths:
            workdir = fresh(DATA / "work" / name.split()[0] / path)
            write_floe_yaml(
                workdir, f"{{credentials: '{url}', tables: [{table}]}}", "{namespace: bench}"
            )
            args = {"workdir": str(workdir), "url": url, "cx_url": cx_url, "table": table}
            if series[path].failure:
                continue
            try:
                sample = run_path(path, args)
            except RuntimeError as exc:
                series[path].failure = str(exc).strip().splitlines()[-1][:200]
                print(f"  [{name} {rep + 1}/{repeat}] {path:<20} FAILED: {series[path].failure}")
                continue
            series[path].samples.append(sample)
            print(
                f"  [{name} {rep + 1}/{repeat}] {path:<20} {sample.rows:>9,} rows "
                f"{sample.seconds:7.2f} s {sample.rss_mib:7.0f} MiB",
                flush=True,
            )
    return list(series.values())


def merge_suite(base_db: Path, rows: int, repeat: int) -> list[Series]:
    """Load ``rows`` rows, change 10% and add 10% (incremental on ``updated_at``), then time the
    merge run alone."""
    paths = ["floe", "dlt_pyarrow"]
    series = {p: Series("merge", p) for p in paths}
    for rep in range(repeat):
        for path in paths:
            workdir = fresh(DATA / "work" / "merge" / path)
            db = workdir / "source.db"
            shutil.copy(base_db, db)
            url = f"sqlite:///{db}"
            write_floe_yaml(
                workdir,
                f"{{credentials: '{url}', tables: [events], cursor_field: updated_at}}",
                "{namespace: bench, write_mode: merge, primary_key: id}",
            )
            args = {
                "workdir": str(workdir),
                "url": url,
                "cx_url": url,
                "table": "events",
                "write_disposition": "merge",
                "cursor": "updated_at",
            }
            run_path(path, args)
            changed = rows // 10
            with sqlite3.connect(db) as conn:
                later = "2030-01-01 00:00:00"
                conn.execute(
                    "UPDATE events SET name = 'changed', updated_at = ? WHERE id <= ?",
                    (later, changed),
                )
                conn.execute(
                    "INSERT INTO events SELECT id + ?, name, amount, score, flag, day, ?,"
                    " payload FROM events WHERE id <= ?",
                    (rows, later, changed),
                )
            sample = run_path(path, args)
            series[path].samples.append(sample)
            print(
                f"  [merge {rep + 1}/{repeat}] {path:<20} {sample.rows:>9,} rows "
                f"{sample.seconds:7.2f} s {sample.rss_mib:7.0f} MiB "
                f"snapshots {sample.snapshots}",
                flush=True,
            )
    return list(series.values())


def incremental_suite(db: Path, repeat: int) -> list[Series]:
    """The first run of an incremental merge source (``cursor_field``, ``write_mode: merge``,
    a primary key) into an empty table against the same table loaded by a plain append."""
    url = f"sqlite:///{db}"
    source = f"credentials: '{url}', tables: [events]"
    configs = {
        "floe append": (f"{{{source}}}", "{namespace: bench}"),
        "floe incremental merge": (
            f"{{{source}, cursor_field: updated_at}}",
            "{namespace: bench, write_mode: merge, primary_key: id}",
        ),
    }
    series = {label: Series("incremental first run", label) for label in configs}
    for rep in range(repeat):
        for label, (config, destination) in configs.items():
            workdir = fresh(DATA / "work" / "incremental" / label.replace(" ", "_"))
            write_floe_yaml(workdir, config, destination)
            sample = run_path("floe", {"workdir": str(workdir), "table": "events"})
            series[label].samples.append(sample)
            print(
                f"  [incremental {rep + 1}/{repeat}] {label:<24} {sample.rows:>9,} rows "
                f"{sample.seconds:7.2f} s {sample.rss_mib:7.0f} MiB "
                f"snapshots {sample.snapshots}",
                flush=True,
            )
    return list(series.values())


def memory_suite(sizes: list[int], repeat: int) -> list[Series]:
    """Peak RSS of an initial load as its size grows: floe against dlt's stock load."""
    out: list[Series] = []
    for rows in sizes:
        db = make_sqlite(DATA / f"events_{rows}.db", rows)
        url = f"sqlite:///{db}"
        out += sql_suite(
            f"memory {rows:,} rows", url, url, "events", repeat, ["floe", "dlt_pyarrow"]
        )
    return out


def cli_suite(repeat: int) -> dict[str, float]:
    floe = str(Path(sys.executable).with_name("floe"))
    out: dict[str, float] = {}
    for args in (["--help"], ["plugins", "list"]):
        times = []
        for _ in range(max(repeat, 10)):
            started = time.perf_counter()
            subprocess.run([floe, *args], capture_output=True, check=True)
            times.append(time.perf_counter() - started)
        out["floe " + " ".join(args)] = statistics.median(times)
    return out


def postgres_table(sqlite_db: Path, rows: int) -> str | None:
    """Copy the SQLite benchmark table into PostgreSQL, in a child process: the copy's memory
    would otherwise be inherited by (and counted in the peak RSS of) every path started after."""
    out = subprocess.run(
        [sys.executable, __file__, "--prepare-postgres", str(sqlite_db), "--rows", str(rows)],
        capture_output=True,
        text=True,
        check=False,
    )
    url = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    return url if url.startswith("postgresql://") else None


def _prepare_postgres(sqlite_db: Path, rows: int) -> str | None:
    try:
        import psycopg2
    except ImportError:
        return None
    try:
        admin = psycopg2.connect(PG_ADMIN)
    except psycopg2.OperationalError:
        return None
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'")
        if cur.fetchone() is None:
            cur.execute(f"CREATE DATABASE {PG_DB}")
    admin.close()
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DB}"
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('events') IS NOT NULL")
        exists = cur.fetchone()[0]
        if exists:
            cur.execute("SELECT count(*) FROM events")
            if cur.fetchone()[0] == rows:
                return url
            cur.execute("DROP TABLE events")
        cur.execute(
            """CREATE TABLE events (id BIGINT PRIMARY KEY, name TEXT, amount NUMERIC(12, 2),
            score DOUBLE PRECISION, flag BOOLEAN, day DATE, updated_at TIMESTAMP, payload TEXT)"""
        )
        import io

        src = sqlite3.connect(sqlite_db)
        buffer = io.StringIO()
        for row in src.execute("SELECT * FROM events"):
            buffer.write("\t".join("t" if v is True else str(v) for v in row) + "\n")
        src.close()
        buffer.seek(0)
        cur.copy_expert("COPY events FROM STDIN", buffer)
    conn.close()
    return url


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    libs = ", ".join(
        f"{name} {version(name)}" for name in ("dlt", "pyiceberg", "pyarrow", "connectorx")
    )
    cached = next((HERE.parent / ".venv").glob("lib/python*/site-packages/dlt/__pycache__"), None)
    bytecode = "compiled (as pip installs it)" if cached else "not cached: every run compiles"
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        bytecode += ", PYTHONDONTWRITEBYTECODE set"
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {mem:.0f} GiB; load average "
        f"{os.getloadavg()[0]:.1f} at the start",
        f"- bytecode of the installed packages: {bytecode}",
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
        f"- {libs}",
    ]


def report(all_series: list[Series], cli: dict[str, float], args: argparse.Namespace) -> str:
    rest = ""
    if args.suite in ("rest", "all"):
        rest = f"--rest-items {args.rest_items} --rest-page-size {args.rest_page_size} "
    lines = [
        f"# Benchmarks {date.today().isoformat()}",
        "",
        *machine(),
        "",
        f"`uv run python benchmarks/run.py --rows {args.rows} --suite {args.suite} "
        f"{rest}--repeat {args.repeat}`; medians of {args.repeat} alternating repetitions "
        "(the startup suite: of 5). "
        "Seconds are whole-process wall time (interpreter start-up included).",
        "",
    ]
    suites = sorted({s.suite for s in all_series}, key=[s.suite for s in all_series].index)
    for suite in suites:
        rows = [s for s in all_series if s.suite == suite]
        by = {s.path: s for s in rows}
        raw = next((by[p] for p in RAW_PATHS if p in by and by[p].samples), None)
        plain = next((by[p] for p in PLAIN_PATHS if p in by and by[p].samples), None)
        lines += [
            f"## {suite}",
            "",
            "| path | rows | seconds | rows/s | vs raw | vs plain dlt | peak RSS MiB | snapshots |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for s in rows:
            if not s.samples:
                lines.append(f"| {s.path} | failed: {s.failure} | | | | | | |")
                continue
            rate = s.rows_per_second
            vs_raw = f"{rate / raw.rows_per_second:.2f}" if raw else "-"
            vs_plain = f"{rate / plain.rows_per_second:.2f}" if plain else "-"
            lines.append(
                f"| {s.path} | {int(s.median('rows')):,} | {s.median('seconds'):.2f} | "
                f"{rate:,.0f} | {vs_raw} | {vs_plain} | {s.median('rss_mib'):.0f} | "
                f"{s.median('snapshots'):.0f} |"
            )
        base, other = by.get("floe append"), by.get("floe incremental merge")
        if base and other and base.samples and other.samples:
            lines += [
                "",
                f"Incremental merge against the append: time "
                f"{other.median('seconds') / base.median('seconds'):.2f}x, peak RSS "
                f"{other.median('rss_mib') / base.median('rss_mib'):.2f}x.",
            ]
        lines.append("")
    if cli:
        lines += ["## CLI start-up", "", "| command | median seconds |", "|---|---|"]
        lines += [f"| `{k}` | {v:.3f} |" for k, v in cli.items()]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--merge-rows", type=int, default=200_000)
    parser.add_argument(
        "--suite",
        choices=[
            "all",
            "sqlite",
            "postgres",
            "files",
            "rest",
            "merge",
            "memory",
            "incremental",
            "startup",
            "cli",
            "maintenance",
            "backfill",
            "tpch",
        ],
        default="all",
    )
    parser.add_argument(
        "--memory-rows", default="1000000,10000000", help="sizes for --suite memory"
    )
    parser.add_argument("--startup-rows", type=int, default=10_000, help="rows for --suite startup")
    parser.add_argument("--rest-items", type=int, default=200_000, help="items for --suite rest")
    parser.add_argument(
        "--appends", type=int, default=200, help="appends of 5,000 rows for --suite maintenance"
    )
    parser.add_argument("--rest-page-size", type=int, default=1000, help="items per API page")
    parser.add_argument(
        "--backfill-rows", type=int, default=6_000_000, help="rows for --suite backfill"
    )
    parser.add_argument(
        "--backfill-days", type=int, default=8, help="daily partitions for --suite backfill"
    )
    parser.add_argument(
        "--backfill-at-once", type=int, default=4, help="partition runs at a time (backfill)"
    )
    parser.add_argument(
        "--tpch-scale", type=float, default=1.0, help="TPC-H scale factor for --suite tpch"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--prepare-postgres", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--prepare-files", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare_files:
        _prepare_files(args.prepare_files)
        return
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    if args.prepare_postgres:
        print(_prepare_postgres(args.prepare_postgres, args.rows) or "")
        return
    if args.suite == "maintenance":  # its own report: files, snapshots, scans, throughput
        import maintenance

        header = _header()  # the load average before the run
        options = ["--appends", str(args.appends), "--repeat", str(args.repeat)]
        _write_report(
            f"{header}\n`uv run python benchmarks/run.py --suite maintenance "
            f"{' '.join(options)}`\n\n{maintenance.main(options)}"
        )
        return
    if args.suite == "backfill":  # its own report: one serial load against a Dagster backfill
        import backfill

        header = _header()
        text, verified = backfill.main(
            ["--rows", str(args.backfill_rows), "--days", str(args.backfill_days),
             "--at-once", str(args.backfill_at_once), "--repeat", str(args.repeat),
             "--postgres", PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DB}"]
        )  # fmt: skip
        _write_report(
            f"{header}\n`uv run python benchmarks/run.py --suite backfill --backfill-rows "
            f"{args.backfill_rows} --backfill-days {args.backfill_days} --backfill-at-once "
            f"{args.backfill_at_once} --repeat {args.repeat}`\n\n{text}"
        )
        sys.exit(0 if verified else 1)
    if args.suite == "tpch":  # its own report: phases, read-back checks, targets
        import tpch

        header = _header()
        command = (
            f"`uv run python benchmarks/run.py --suite tpch --tpch-scale {args.tpch_scale:g} "
            f"--rows {args.rows} --repeat {args.repeat}`"
        )
        text = f"{header}\n{command}\n\n{tpch.main(args.tpch_scale, args.repeat, args.rows)}"
        print(text)
        _write_report(text)
        return
    everything = {"sqlite", "postgres", "files", "rest", "merge", "memory", "incremental"}
    everything |= {"startup", "cli"}
    suites = everything if args.suite == "all" else {args.suite}
    all_series: list[Series] = []
    cli: dict[str, float] = {}
    sqlite_db = DATA / f"events_{args.rows}.db"
    if suites & {"sqlite", "postgres", "files"}:
        make_sqlite(sqlite_db, args.rows)
    if "sqlite" in suites:
        url = f"sqlite:///{sqlite_db}"
        all_series += sql_suite("sqlite", url, url, "events", args.repeat)
    if "postgres" in suites:
        pg = postgres_table(sqlite_db, args.rows)
        if pg is None:
            print("PostgreSQL not reachable: postgres suite skipped", file=sys.stderr)
        else:
            all_series += sql_suite("postgres", pg, pg, "events", args.repeat)
    if "files" in suites:
        all_series += files_suite(sqlite_db, args.repeat)
    if "rest" in suites:
        all_series += rest_suite(args.rest_items, args.rest_page_size, args.repeat)
    if "merge" in suites:
        base = make_sqlite(DATA / f"events_{args.merge_rows}.db", args.merge_rows)
        all_series += merge_suite(base, args.merge_rows, args.repeat)
    if "memory" in suites:
        sizes = [int(n) for n in args.memory_rows.split(",")]
        all_series += memory_suite(sizes, 1)
    if "incremental" in suites:
        db = make_sqlite(DATA / f"events_{args.rows}.db", args.rows)
        all_series += incremental_suite(db, args.repeat)
    if "startup" in suites:  # the fixed cost of a run: a small table, median of 5
        db = make_sqlite(DATA / f"events_{args.startup_rows}.db", args.startup_rows)
        url = f"sqlite:///{db}"
        label = f"startup {args.startup_rows:,} rows"
        all_series += sql_suite(label, url, url, "events", 5, ["floe", "dlt_default"])
    if "cli" in suites:
        cli = cli_suite(args.repeat)
    text = report(all_series, cli, args)
    print(text)
    _write_report(text)


def _header() -> str:
    """The title and the machine's details of a suite that writes its own report."""
    return "\n".join([f"# Benchmarks {date.today().isoformat()}", "", *machine(), ""])


def _write_report(text: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{date.today().isoformat()}.md"
    with out.open("a", encoding="utf-8") as handle:  # runs of one day accumulate
        handle.write(text + "\n\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
