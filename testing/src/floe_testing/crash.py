"""Kill a load with SIGKILL at points spread over it, rerun it, compare.

Each scenario first times one uninterrupted load (from the moment the run takes its pipeline
lock, i.e. once imports and configuration are done, to the moment it releases it, i.e. before a
Dagster run's own bookkeeping), then for each of ``kills`` points spread evenly over that time
starts a load, kills it there (a run that releases its lock first is not killed, and the point is
tried again), notes which step it was in (from the package folders dlt left behind and the
table's snapshots), reruns to completion, and checks that the Iceberg table equals the source (no
row lost, none duplicated) and that no package is left pending. More runs are killed at moments
rather than times (:data:`MOMENTS`, all three unless fewer are asked for): the package
normalized, the Iceberg write running, the commit just made.
``after_normalize`` more runs are each killed a random 0-200 ms after the package is normalized,
where dlt's loader writes its own files (schema version, state) around the Iceberg commit.

Scenarios:

- ``sql-append``: an incremental append of a SQLite table (``updated_at`` cursor), each point
  into a fresh namespace, so every kill interrupts a whole initial load;
- ``sql-merge``: a merge on ``id``; each point first changes 10% of the rows and adds 10% new
  ones, so every kill interrupts a merge into the table loaded before;
- ``rest-append``: an incremental append from the loopback items API (``rest_server``).

Each scenario runs by one of two routes (:data:`LAUNCHERS`), the killed runs and the reruns alike:

- ``cli``: ``floe ingest run``;
- ``dagster``: the source's asset job ``ingest_<source>`` of the code location
  ``floe_orchestrator_dagster.definitions``, executed in a child process on a Dagster instance in
  the project folder (:mod:`floe_testing.dagster_run`).

``python -m floe_testing.crash --rows 1000000 --kills 10 [--launcher dagster]`` runs them at full
size and prints a Markdown report; the test suite runs them smaller.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import random
import signal
import sqlite3
import subprocess  # nosec B404  # the harness runs floe in a child process
import sys
import time
from abc import ABC, abstractmethod
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from floe_testing.rest_server import ItemsServer, rest_source

__all__ = [
    "LAUNCHERS",
    "MOMENTS",
    "SCENARIOS",
    "WRITING",
    "CrashReport",
    "KillPoint",
    "Launcher",
    "run_scenario",
]

SCENARIOS = ("sql-append", "sql-merge", "rest-append")
Launcher = Literal["cli", "dagster"]
LAUNCHERS: tuple[Launcher, ...] = ("cli", "dagster")
_PENDING = ("normalize/extracted", "load/new", "load/normalized")


@dataclass(frozen=True)
class KillPoint:
    """One kill: when (seconds after the lock was taken), in which step, and the outcome."""

    at_seconds: float
    step: str  # extract | normalize | load | committed | finished, or "not killed"
    survived: bool
    problem: str = ""


@dataclass
class CrashReport:
    scenario: str
    rows: int
    catalog: str
    launcher: Launcher = "cli"
    uninterrupted_seconds: float = 0.0
    timeout: float = 900
    points: list[KillPoint] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return sum(1 for p in self.points if p.step != "not killed")

    @property
    def survived(self) -> int:
        return sum(1 for p in self.points if p.step != "not killed" and p.survived)

    @property
    def problems(self) -> list[str]:
        return [f"kill at {p.at_seconds:.2f}s: {p.problem}" for p in self.points if p.problem]

    def steps(self) -> str:
        counts = Counter(p.step for p in self.points if p.step != "not killed")
        return ", ".join(f"{step} {n}" for step, n in sorted(counts.items()))

    def markdown_row(self) -> str:
        return (
            f"| {self.scenario} | {self.launcher} | {self.catalog} | {self.rows:,} | "
            f"{self.uninterrupted_seconds:.1f} s | {self.survived} / {self.attempted} | "
            f"{self.steps()} |"
        )


MARKDOWN_HEADER = (
    "| scenario | route | catalog | rows | uninterrupted load | kills survived / attempted | "
    "step at the kill |\n|---|---|---|---|---|---|---|"
)


class _Project:
    """A project folder whose floe.yaml has one source ``events`` or ``api``, run by a launcher."""

    def __init__(
        self, root: Path, header: str, env: dict[str, str], launcher: Launcher = "cli"
    ) -> None:
        self.root = root
        self.header = header
        self.extra_env = env
        self.launcher = launcher
        self.source_name = ""
        self.env = {
            **os.environ,
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "FLOE_CONFIG": str(root / "floe.yaml"),
            "DAGSTER_HOME": str(root / ".dagster"),
            **env,
        }

    def write(self, source: dict[str, Any]) -> None:
        self.source_name = source["name"]
        text = yaml.safe_dump({"ingestion": {"sources": [source]}}, sort_keys=False)
        (self.root / "floe.yaml").write_text(self.header + text, encoding="utf-8")

    def command(self) -> list[str]:
        """The command that runs the source of floe.yaml by this project's route."""
        if self.launcher == "dagster":
            return [sys.executable, "-m", "floe_testing.dagster_run", self.source_name]
        return [sys.executable, "-m", "floe_cli", "ingest", "run", "-f", "floe.yaml"]

    @property
    def log(self) -> Path:
        """The stderr of the last run started (a file: a pipe nobody reads can fill and block)."""
        return self.root / "run.log"

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("wb") as log:
            return subprocess.Popen(  # nosec B603  # argv built here, no shell
                self.command(),
                cwd=self.root,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=self.env,
            )

    def log_tail(self, lines: int) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace").strip()
        return "\n".join(text.splitlines()[-lines:])

    def pipeline_dir(self, source: dict[str, Any]) -> Path:
        namespace = source["destination"]["namespace"]
        return self.root / ".floe" / "pipelines" / f"floe__{source['name']}__{namespace}"

    def plugin(self) -> Any:
        from floe_core.compiler import compile_spec
        from floe_ingestion_dlt.plugin import DltIngestionPlugin

        saved = {name: os.environ.get(name) for name in self.extra_env}
        os.environ.update(self.extra_env)  # the ${VAR}s floe.yaml names, to read it here too
        try:
            plugin = DltIngestionPlugin()
            plugin.configure(compile_spec(self.root / "floe.yaml"))
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        return plugin

    def snapshots(self, table: str) -> int:
        try:
            return len(self.plugin().table_history(table))
        except Exception:  # the table does not exist yet
            return 0


def _wait_for_lock(lock: Path, process: subprocess.Popen[bytes], timeout: float = 300) -> bool:
    """Wait until ``process`` holds its pipeline lock (its note names its pid)."""
    deadline = time.monotonic() + timeout
    mark = f"pid {process.pid} "
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if lock.read_text(encoding="utf-8").startswith(mark):
                return True
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    return False


def _wait_for_release(lock: Path, process: subprocess.Popen[bytes], seconds: float) -> bool:
    """Wait up to ``seconds`` for ``process`` to release its lock or to exit; whether it did."""
    deadline = time.monotonic() + seconds
    with lock.open("a") as handle:
        while process.poll() is None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.005)
            else:
                fcntl.flock(handle, fcntl.LOCK_UN)  # released: the load is over
                return True
    return True


def _pending(pipeline_dir: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for sub in _PENDING:
        folder = pipeline_dir / sub
        if folder.is_dir():
            names = sorted(p.name for p in folder.iterdir())
            if names:
                found[sub] = names
    return found


def _step(pending: dict[str, list[str]], committed: bool) -> str:
    """The step a killed run was in, from what it left behind."""
    if committed:
        return "committed" if pending else "finished"
    if "load/normalized" in pending:
        return "load"
    if "load/new" in pending:
        return "normalize"
    return "extract"  # reading the source; nothing saved yet, or an extracted package


class _Scenario(ABC):
    """What a scenario loads and how it checks the result; subclasses fill in the source."""

    table = "events"

    def __init__(self, project: _Project, rows: int) -> None:
        self.project = project
        self.rows = rows

    @abstractmethod
    def source(self, point: int) -> dict[str, Any]:
        """The floe.yaml source for run ``point`` (-1: the uninterrupted run)."""

    def setup(self) -> None:  # noqa: B027 - nothing to do unless a scenario says so
        """Load what the kills start from."""

    def prepare(self, point: int) -> None:  # noqa: B027 - nothing to do unless a scenario says so
        """Change the source before ``point`` (-1: the uninterrupted run)."""

    @abstractmethod
    def problem(self, namespace: str) -> str:
        """What is wrong with the table after the rerun, or ''."""


class _SqlAppend(_Scenario):
    def __init__(self, project: _Project, rows: int) -> None:
        super().__init__(project, rows)
        with sqlite3.connect(project.root / "source.db") as db:
            db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT)")
            db.executemany(
                "INSERT INTO events VALUES (?, ?, ?)",
                (
                    (i, f"event {i}", f"2024-01-01 00:{i // 60 % 60:02d}:{i % 60:02d}")
                    for i in range(1, rows + 1)
                ),
            )

    def source(self, point: int) -> dict[str, Any]:
        return {
            "name": "events",
            "type": "sql_database",
            "config": {
                "credentials": "sqlite:///source.db",
                "tables": ["events"],
                "cursor_field": "updated_at",
            },
            "destination": {"namespace": f"p{point + 1}", "write_mode": "append"},
        }

    def problem(self, namespace: str) -> str:
        ids = self.project.plugin().read_table(f"{namespace}.{self.table}")["id"].to_pylist()
        return _exactly_once(ids, self.rows)


class _SqlMerge(_SqlAppend):
    """Each point changes 10% of the rows and adds 10% more, then merges them."""

    def source(self, point: int) -> dict[str, Any]:
        source = super().source(point)
        source["destination"] = {"namespace": "merged", "write_mode": "merge", "primary_key": "id"}
        return source

    def setup(self) -> None:
        """The initial load of the table the merges go into."""
        self.project.write(self.source(0))
        error = _finish(self.project, self.source(0), timeout=1800)
        if error:
            raise RuntimeError(f"the initial load failed: {error}")

    def prepare(self, point: int) -> None:
        with sqlite3.connect(self.project.root / "source.db") as db:
            (top,) = db.execute("SELECT max(id) FROM events").fetchone()
            stamp = f"2025-01-{point + 2:02d} 00:00:00"
            db.execute(
                "UPDATE events SET name = ?, updated_at = ? WHERE id % 10 = ?",
                (f"changed at {point}", stamp, point % 10),
            )
            db.executemany(
                "INSERT INTO events VALUES (?, ?, ?)",
                ((i, f"new at {point}", stamp) for i in range(top + 1, top + self.rows // 10 + 1)),
            )

    def problem(self, namespace: str) -> str:
        table = self.project.plugin().read_table(f"{namespace}.{self.table}")
        with sqlite3.connect(self.project.root / "source.db") as db:
            expected = dict(db.execute("SELECT id, name FROM events"))
        ids = table["id"].to_pylist()
        wrong = _exactly_once(ids, len(expected), set(expected))
        if wrong:
            return wrong
        stale = sum(
            1 for i, n in zip(ids, table["name"].to_pylist(), strict=True) if expected[i] != n
        )
        return f"{stale} rows hold an old value" if stale else ""


class _RestAppend(_Scenario):
    table = "items"

    def __init__(self, project: _Project, rows: int, url: str) -> None:
        super().__init__(project, rows)
        self.url = url

    def source(self, point: int) -> dict[str, Any]:
        http = {"timeout_seconds": 10, "max_attempts": 3, "backoff_factor": 0}
        return rest_source(self.url, namespace=f"p{point + 1}", page_size=2000, http=http)

    def problem(self, namespace: str) -> str:
        ids = self.project.plugin().read_table(f"{namespace}.{self.table}")["id"].to_pylist()
        return _exactly_once(ids, self.rows)


def _exactly_once(ids: list[int], count: int, expected: set[int] | None = None) -> str:
    seen = Counter(ids)
    duplicated = sum(1 for n in seen.values() if n > 1)
    wanted = expected if expected is not None else set(range(1, count + 1))
    lost = len(wanted - seen.keys())
    extra = len(seen.keys() - wanted)
    if duplicated or lost or extra:
        return f"{lost} rows lost, {duplicated} duplicated, {extra} unexpected"
    return ""


def _finish(project: _Project, source: dict[str, Any], timeout: float) -> str:
    process = project.start()
    process.wait(timeout=timeout)
    if process.returncode != 0:
        return f"rerun exited {process.returncode}: {project.log_tail(1)}"
    stuck = _pending(project.pipeline_dir(source))
    return f"packages left pending: {stuck}" if stuck else ""


def run_scenario(
    scenario: str,
    root: Path,
    *,
    rows: int,
    kills: int,
    catalog_header: str = "",
    catalog: str = "sqlite",
    env: dict[str, str] | None = None,
    timeout: float = 900,
    after_normalize: int = 0,
    launcher: Launcher = "cli",
    moments: tuple[str, ...] | None = None,
) -> CrashReport:
    """Run ``scenario`` by ``launcher`` in the empty folder ``root``; see the module docstring.

    ``moments`` are the :data:`MOMENTS` to kill at (default: all of them).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; use one of {', '.join(SCENARIOS)}")
    if launcher not in LAUNCHERS:
        raise ValueError(f"unknown launcher {launcher!r}; use one of {', '.join(LAUNCHERS)}")
    report = CrashReport(scenario, rows, catalog, launcher, timeout=timeout)
    project = _Project(root, catalog_header, env or {}, launcher)
    with ExitStack() as stack:
        chosen: _Scenario
        if scenario == "rest-append":
            api = stack.enter_context(ItemsServer(rows))
            chosen = _RestAppend(project, rows, api.url)
        elif scenario == "sql-merge":
            chosen = _SqlMerge(project, rows)
        else:
            chosen = _SqlAppend(project, rows)
        _points(chosen, report, kills, after_normalize, MOMENTS if moments is None else moments)
    return report


def _points(
    scenario: _Scenario,
    report: CrashReport,
    kills: int,
    after_normalize: int,
    moments: tuple[str, ...],
) -> None:
    timeout = report.timeout
    project = scenario.project
    scenario.setup()
    scenario.prepare(-1)
    # the uninterrupted load: how long the work takes once the lock is taken
    source = scenario.source(-1)
    project.write(source)
    process = project.start()
    lock = project.pipeline_dir(source).with_suffix(".lock")
    if not _wait_for_lock(lock, process):
        process.wait(timeout=timeout)
        raise RuntimeError(f"the uninterrupted load failed: {project.log_tail(40)}")
    started = time.monotonic()
    _wait_for_release(lock, process, timeout)
    report.uninterrupted_seconds = time.monotonic() - started
    process.wait(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"the uninterrupted load failed: {project.log_tail(40)}")
    duration = report.uninterrupted_seconds
    point = tries = 0
    while point < kills and tries < 2 * kills:
        # a run that ends before its kill point is checked too, then the point is tried again
        # with the duration that run took
        killed, elapsed = _attempt(scenario, report, tries, duration * (point + 0.5) / kills)
        tries += 1
        if killed:
            point += 1
        else:
            duration = elapsed
    for pattern in moments:
        _attempt(scenario, report, tries, (pattern, 0.0))
        tries += 1
    jitter = random.Random(tries)  # the same delays on every run of the harness  # nosec B311  # reproducible kill points, not a secret
    for _ in range(after_normalize):
        _attempt(scenario, report, tries, (_NORMALIZED, jitter.uniform(0, 0.2)))
        tries += 1


#: Moments worth a kill of their own, as files dlt's package holds then: the package is
#: normalized and no job has started; the table's Iceberg write is running; it has committed.
_NORMALIZED = "load/normalized/*"
WRITING = "load/normalized/*/started_jobs/*.reference"
MOMENTS = (
    _NORMALIZED,
    WRITING,
    "load/normalized/*/completed_jobs/*.reference",
)


def _attempt(
    scenario: _Scenario, report: CrashReport, index: int, when: float | tuple[str, float]
) -> tuple[bool, float]:
    """One run, killed ``when`` seconds after taking its lock unless it released it by then, or
    given ``(pattern, delay)``, ``delay`` seconds after a file matches ``pattern``; then the rerun
    and the comparison. Returns whether it was killed and how long it held its lock."""
    project = scenario.project
    scenario.prepare(index)
    source = scenario.source(index)
    project.write(source)
    namespace = source["destination"]["namespace"]
    table = f"{namespace}.{scenario.table}"
    before = project.snapshots(table)
    folder = project.pipeline_dir(source)
    process = project.start()
    step, at = "not killed", 0.0
    lock = folder.with_suffix(".lock")
    if _wait_for_lock(lock, process):
        started = time.monotonic()
        released = False
        if isinstance(when, tuple):
            pattern, delay = when
            while process.poll() is None and not any(folder.glob(pattern)):
                time.sleep(0.002)
            time.sleep(delay)
        else:
            released = _wait_for_release(lock, process, when)
        at = time.monotonic() - started
        if not released and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            step = _step(_pending(folder), project.snapshots(table) > before)
    process.wait()
    problem = _finish(project, source, report.timeout) or scenario.problem(namespace)
    report.points.append(KillPoint(at, step, not problem, problem))
    return step != "not killed", at


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        choices=(*SCENARIOS, "all"),
        action="append",
        help="a scenario to run (repeatable; default: all)",
    )
    parser.add_argument(
        "--launcher",
        choices=(*LAUNCHERS, "all"),
        default="cli",
        help="the route the loads run by: floe ingest run, or the source's Dagster asset job",
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="SQL source rows")
    parser.add_argument("--rest-items", type=int, default=200_000, help="REST source items")
    parser.add_argument("--kills", type=int, default=10, help="kill points per scenario")
    parser.add_argument(
        "--after-normalize",
        type=int,
        default=0,
        help="more kills per scenario, each 0-200 ms after the package is normalized",
    )
    parser.add_argument("--root", type=Path, default=Path(".floe-crash"))
    args = parser.parse_args(argv)
    asked = args.scenario or ["all"]
    chosen = SCENARIOS if "all" in asked else tuple(dict.fromkeys(asked))
    launchers = LAUNCHERS if args.launcher == "all" else (args.launcher,)
    given = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python -m floe_testing.crash", *given])
    print(f"## Crash harness, {time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores\n")
    print(f"`{command}`\n")
    print(MARKDOWN_HEADER, flush=True)
    failed = False
    for launcher in launchers:
        for scenario in chosen:
            root = args.root / f"{scenario}-{launcher}-{int(time.time())}"
            root.mkdir(parents=True)
            rows = args.rest_items if scenario == "rest-append" else args.rows
            report = run_scenario(
                scenario,
                root,
                rows=rows,
                kills=args.kills,
                after_normalize=args.after_normalize,
                launcher=launcher,
            )
            print(report.markdown_row(), flush=True)
            for problem in report.problems:
                failed = True
                print(f"  {scenario} ({launcher}): {problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main())
