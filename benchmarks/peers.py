"""Peer tools as benchmark paths: ingestr and dlt-iceberg loading a PostgreSQL table into Iceberg.

    python benchmarks/peers.py TOOL setup
    python benchmarks/peers.py TOOL MODE '{"workdir": ..., "pg_url": ..., "source_table": ...,
                                          "table": ..., "cursor": ..., "primary_key": [...]}'

TOOL is ``ingestr`` or ``dlt_iceberg``. MODE is ``append`` (a full load, appended), ``incremental``
(the first run of an incremental merge config: cursor and primary key, into an empty table) or
``merge`` (the next run of that config in the same workdir: only the rows past the cursor are read
and merged by primary key). The target is ``bench.<table>`` in the SQL catalog (SQLite) that
``paths.py`` opens: catalog name ``floe``, ``<workdir>/catalog.db``, warehouse
``<workdir>/warehouse``; each tool keeps its state in the workdir too. The last stdout line is one
JSON object: ``rows`` the tool loaded in this run, ``seconds`` (the tool's process, start to end),
the tool's version and mode; a failure exits nonzero with the tool's error.

Every tool has its own virtualenv, ``benchmarks/.venvs/<tool>`` (``uv venv --python 3.11``, then
``uv pip install`` of the pinned packages), made by ``setup`` or by the first run and reused after.
The tool runs as a child process of this one, so the peak RSS that ``wait4`` reports for this
process is the tool's (this process imports nothing heavy).

ingestr (``ingestr==1.1.22``): since 1.0 ingestr is one native binary (Go, iceberg-go, pgx), no
longer a dlt pipeline, so it has no connectorx or Arrow backend to choose. The PyPI packages after
1.1.22 ship only a launcher that downloads the binary from GitHub on first use; 1.1.22 is the last
whose wheel carries the binary itself. Settings, as its docs give them: destination
``iceberg+sqlite://<catalog.db>?catalog_name=floe&warehouse=file://<warehouse>``, the defaults for
a SQL source (``--page-size 25000`` rows per Arrow batch, one query), ``--progress json`` (the
rows of the run come from its end event), ``--yes``, telemetry off. ``incremental`` and ``merge``
run ``--incremental-strategy merge --incremental-key <cursor> --primary-key <each key>``. ingestr
keeps no cursor state between runs: its docs leave it to the scheduler to pass
``--interval-start``, so this script does that. Before each incremental run it reads the cursor's
maximum in the source (``SELECT max(cursor)``, outside the timed part) and keeps it in
``<workdir>/ingestr_<table>.json``; the ``merge`` run passes the kept value as ``--interval-start``
(inclusive, so rows at exactly that value are read again). ingestr merges into Iceberg
merge-on-read by default, an equality-delete file and the new rows in one snapshot, which pyiceberg
cannot scan (``"merge_mode": "copy-on-write"`` in the args sets ingestr's
``table.write.merge.mode=copy-on-write`` instead).

dlt-iceberg (``dlt-iceberg==0.6.4`` with ``dlt[postgres,sql_database]==1.27.2`` and
``connectorx==0.4.6``): its class-based destination ``iceberg_rest`` (the recommended one: one
snapshot per table per load) with ``catalog_uri=sqlite:///<catalog.db>``, the local warehouse and
namespace ``bench``, fed by dlt's ``sql_table`` with the ``connectorx`` backend and
``return_type: arrow_stream`` (dlt's advice for tables larger than one chunk: batches of
``chunk_size``, 50,000 rows, instead of one Arrow table in memory). dlt-iceberg takes the column
types from the Arrow data, so the table has connectorx's types: decimal(38, 10) for numeric(15,2),
long for int. ``incremental`` and ``merge`` add ``dlt.sources.incremental(<cursor>)`` and
``write_disposition={"disposition": "merge", "strategy": "upsert"}`` with the primary key;
dlt-iceberg writes that merge, as its delete-insert, as equality deletes, which pyiceberg cannot
scan. One change to the tool: dlt-iceberg opens its SQL catalog under the fixed name
``dlt_catalog``, and pyiceberg keys every catalog row by that name, so the table would be invisible
to a catalog named ``floe``; the child process hands dlt-iceberg's ``load_catalog`` the name
``floe``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

Args = dict[str, Any]
HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
CATALOG = "floe"
NAMESPACE = "bench"
MODES = ("append", "incremental", "merge")
PYTHON = "3.11"
EXCLUDE_NEWER = "2026-12-02T00:00:00Z"  # the packages' dependencies as PyPI had them that day
TOOL_ENV = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "RUNTIME__LOG_LEVEL": "WARNING",
    "INGESTR_DISABLE_TELEMETRY": "true",
}


class ToolError(Exception):
    """The tool failed, or cannot do what the mode asks: one line, printed last on exit, after
    the end of the tool's own output."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


def _failed(what: str, out: subprocess.CompletedProcess[str]) -> ToolError:
    """The tool's exit: its last line of output says why."""
    text = (out.stdout + "\n" + out.stderr).strip()
    last = text.splitlines()[-1].strip() if text else "no output"
    return ToolError(f"{what} failed ({out.returncode}): {last}", text[-4000:])


@dataclass(frozen=True)
class Peer:
    """A peer tool: the packages of its virtualenv and how one run of it goes."""

    packages: tuple[str, ...]
    run: Callable[[Path, str, Args], dict[str, Any]]


# --- virtualenvs ---------------------------------------------------------------------------------


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(found).exists():
        raise ToolError("uv not found: it creates the peer tools' virtualenvs")
    return found


def setup(name: str, peer: Peer) -> Path:
    """The tool's virtualenv with its pinned packages, created unless it is already there."""
    venv = VENVS / name
    wanted = "\n".join([*peer.packages, EXCLUDE_NEWER])
    marker = venv / "peers-packages.txt"
    if marker.exists() and marker.read_text(encoding="utf-8") == wanted:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    uv = _uv()
    python = str(venv / "bin" / "python")
    install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", python]
    for cmd in (
        [uv, "venv", "--quiet", "--python", PYTHON, str(venv)],
        [*install, "--exclude-newer", EXCLUDE_NEWER, *peer.packages],
    ):
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise _failed(f"uv {cmd[1]}", out)
    freeze = subprocess.run(
        [uv, "pip", "freeze", "--python", python],
        capture_output=True,
        text=True,
        check=True,
    )
    (venv / "peers-freeze.txt").write_text(freeze.stdout, encoding="utf-8")
    marker.write_text(wanted, encoding="utf-8")
    return venv


def _installed(venv: Path, package: str) -> str:
    """``package==version`` as the virtualenv's freeze at setup recorded it."""
    freeze = (venv / "peers-freeze.txt").read_text(encoding="utf-8").splitlines()
    return next((line for line in freeze if line.lower().startswith(f"{package}==")), package)


def _child(cmd: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the tool, timed; its environment has telemetry off."""
    env = {**os.environ, **TOOL_ENV}
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    return out, time.perf_counter() - started


# --- ingestr -------------------------------------------------------------------------------------


def _keys(args: Args) -> list[str]:
    key = args["primary_key"]
    return [key] if isinstance(key, str) else list(key)


def _split_table(qualified: str) -> tuple[str | None, str]:
    schema, _, name = qualified.rpartition(".")
    return schema or None, name


def _cursor_max(args: Args) -> str | None:
    """The cursor's maximum in the source, as ingestr's ``--interval-start`` takes it."""
    import psycopg2

    schema, name = _split_table(args["source_table"])
    source = f'"{schema}"."{name}"' if schema else f'"{name}"'
    with psycopg2.connect(args["pg_url"]) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT max("{args["cursor"]}") FROM {source}')
        value = cur.fetchone()[0]
    conn.close()
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    raise ToolError(
        f"ingestr's --interval-start takes a date or timestamp; cursor {args['cursor']!r} is "
        f"{type(value).__name__}"
    )


def _ingestr(venv: Path, mode: str, args: Args) -> dict[str, Any]:
    workdir = Path(args["workdir"])
    warehouse = workdir / "warehouse"
    warehouse.mkdir(parents=True, exist_ok=True)
    dest = (
        f"iceberg+sqlite://{workdir / 'catalog.db'}?catalog_name={CATALOG}"
        f"&warehouse={warehouse.as_uri()}"
    )
    if args.get("merge_mode") and mode != "append":
        dest += f"&table.write.merge.mode={args['merge_mode']}"
    cmd = [
        str(venv / "bin" / "ingestr"),
        "ingest",
        "--yes",
        "--progress",
        "json",
        "--source-uri",
        args["pg_url"],
        "--source-table",
        args["source_table"],
        "--dest-uri",
        dest,
        "--dest-table",
        f"{NAMESPACE}.{args['table']}",
    ]
    state = workdir / f"ingestr_{args['table']}.json"
    extra: dict[str, Any] = {"tool": _installed(venv, "ingestr")}
    if mode == "append":
        cmd += ["--incremental-strategy", "append"]
    else:
        cmd += ["--incremental-strategy", "merge", "--incremental-key", args["cursor"]]
        for key in _keys(args):
            cmd += ["--primary-key", key]
        extra["merge_mode"] = args.get("merge_mode", "merge-on-read")
        if mode == "merge":
            if not state.exists():
                raise ToolError(f"no ingestr cursor state in {state}: run incremental first")
            start = json.loads(state.read_text(encoding="utf-8"))["last_value"]
            if start is not None:
                cmd += ["--interval-start", start]
            extra["interval_start"] = start
        started = time.perf_counter()
        high_water = _cursor_max(args)
        extra["cursor_query_seconds"] = time.perf_counter() - started
    out, seconds = _child(cmd)
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    end = next((e for e in events if e.get("event") == "end"), None)
    if out.returncode != 0 or end is None or end.get("status") != "success":
        error = end.get("error") if end else None
        if error:
            raise ToolError(f"ingestr failed ({out.returncode}): {error}", out.stderr)
        raise _failed("ingestr", out)
    if mode != "append":
        state.write_text(json.dumps({"last_value": high_water}), encoding="utf-8")
        extra["next_interval_start"] = high_water
    return {"rows": int(end["rows"]), "seconds": seconds, **extra}


# --- dlt-iceberg ---------------------------------------------------------------------------------


def _dlt_iceberg(venv: Path, mode: str, args: Args) -> dict[str, Any]:
    if args.get("merge_mode"):
        raise ToolError(
            "dlt-iceberg has one merge mode (equality deletes): merge_mode is ingestr's"
        )
    cmd = [str(venv / "bin" / "python"), str(Path(__file__)), "--in-venv", "dlt_iceberg", mode]
    out, seconds = _child([*cmd, json.dumps(args)])
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        raise _failed("dlt-iceberg", out)
    return {**json.loads(lines[-1]), "seconds": seconds}


def _dlt_iceberg_in_venv(mode: str, args: Args) -> dict[str, Any]:
    """One dlt pipeline run with dlt-iceberg, in the tool's virtualenv."""
    from importlib.metadata import version

    import dlt
    from dlt.sources.sql_database import sql_table
    from dlt_iceberg import destination_client, iceberg_rest
    from pyiceberg.catalog import load_catalog

    def floe_catalog(_name: str, **properties: Any) -> Any:
        return load_catalog(CATALOG, **properties)

    destination_client.load_catalog = floe_catalog
    workdir = Path(args["workdir"])
    (workdir / "warehouse").mkdir(parents=True, exist_ok=True)
    schema, name = _split_table(args["source_table"])
    _, _, rest = args["pg_url"].partition("://")
    resource = sql_table(
        credentials=f"postgresql+psycopg2://{rest}",  # SQLAlchemy 2.1 defaults to psycopg 3
        table=name,
        schema=schema,
        backend="connectorx",
        backend_kwargs={"conn": args["pg_url"], "return_type": "arrow_stream"},
        incremental=dlt.sources.incremental(args["cursor"]) if mode != "append" else None,
    )
    if mode == "append":
        resource.apply_hints(table_name=args["table"], write_disposition="append")
    else:
        resource.apply_hints(
            table_name=args["table"],
            write_disposition={"disposition": "merge", "strategy": "upsert"},
            primary_key=_keys(args),
        )
    pipeline = dlt.pipeline(
        f"peers_{args['table']}",
        pipelines_dir=str(workdir / "dlt_iceberg"),
        destination=iceberg_rest(
            catalog_uri=f"sqlite:///{workdir / 'catalog.db'}",
            warehouse=(workdir / "warehouse").as_uri(),
            namespace=NAMESPACE,
        ),
        dataset_name=NAMESPACE,
    )
    pipeline.run(resource)
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {
        "rows": int(counts.get(args["table"], 0)),
        "tool": f"dlt-iceberg=={version('dlt-iceberg')} dlt=={version('dlt')}",
    }


PEERS: dict[str, Peer] = {
    "ingestr": Peer(("ingestr==1.1.22",), _ingestr),
    "dlt_iceberg": Peer(
        ("dlt-iceberg==0.6.4", "dlt[postgres,sql_database]==1.27.2", "connectorx==0.4.6"),
        _dlt_iceberg,
    ),
}
IN_VENV: dict[str, Callable[[str, Args], dict[str, Any]]] = {"dlt_iceberg": _dlt_iceberg_in_venv}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--in-venv"]:  # the child process, in the tool's virtualenv
        _, name, mode, raw = argv
        print(json.dumps(IN_VENV[name](mode, json.loads(raw))))
        return 0
    if len(argv) < 2 or argv[0] not in PEERS or argv[1] not in ("setup", *MODES):
        print(__doc__, file=sys.stderr)
        return 2
    name, mode = argv[0], argv[1]
    peer = PEERS[name]
    try:
        venv = setup(name, peer)
        if mode == "setup":
            print(json.dumps({"venv": str(venv), "packages": list(peer.packages)}))
            return 0
        if len(argv) != 3:
            raise ToolError(f"{name} {mode} takes one JSON argument")
        result = peer.run(venv, mode, json.loads(argv[2]))
    except ToolError as exc:
        if exc.output:
            print(exc.output, file=sys.stderr)
        print(f"{name} {mode}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({**result, "mode": mode}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
