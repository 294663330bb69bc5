"""One benchmark path per invocation, run in its own process so its peak RSS is its own.

    python benchmarks/paths.py PATH '{"workdir": ..., "url": ..., "table": ..., ...}'

Prints one JSON line: rows loaded, inner seconds, snapshots of the target table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "CRITICAL")

Args = dict[str, Any]
NAMESPACE = "bench"


def _catalog(workdir: Path) -> Any:
    from pyiceberg.catalog.sql import SqlCatalog

    (workdir / "warehouse").mkdir(parents=True, exist_ok=True)
    return SqlCatalog(
        "floe",
        uri=f"sqlite:///{workdir / 'catalog.db'}",
        warehouse=(workdir / "warehouse").as_uri(),
    )


def snapshots(workdir: Path, table: str) -> int:
    """Snapshots of the benchmark table (counted by the runner, outside the timed process)."""
    return len(_catalog(workdir).load_table(f"{NAMESPACE}.{table}").metadata.snapshots)


def table_rows(workdir: Path, table: str) -> int:
    """Rows in the benchmark table's current snapshot, read back from its Iceberg metadata."""
    iceberg = _catalog(workdir).load_table(f"{NAMESPACE}.{table}")
    snapshot = iceberg.current_snapshot()
    summary = snapshot.summary if snapshot is not None else None
    return int(summary["total-records"]) if summary is not None else 0


def _dlt_pipeline(workdir: Path) -> Any:
    import dlt

    _catalog(workdir)  # create the catalog tables before dlt's parallel jobs do
    dlt.secrets["iceberg_catalog.iceberg_catalog_name"] = "floe"
    dlt.secrets["iceberg_catalog.iceberg_catalog_type"] = "sql"
    dlt.secrets["iceberg_catalog.iceberg_catalog_config"] = {
        "type": "sql",
        "uri": f"sqlite:///{workdir / 'catalog.db'}",
        "warehouse": (workdir / "warehouse").as_uri(),
    }
    return dlt.pipeline(
        "bench",
        pipelines_dir=str(workdir / "pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=(workdir / "warehouse").as_uri()),
        dataset_name=NAMESPACE,
    )


def _dlt_sql(backend: str | None) -> Callable[[Args], int]:
    def run(args: Args) -> int:
        from dlt.sources.sql_database import sql_database

        workdir = Path(args["workdir"])
        url = args["url"].replace("postgresql://", "postgresql+psycopg2://")
        kwargs: dict[str, Any] = {"credentials": url, "table_names": [args["table"]]}
        if backend is not None:
            kwargs["backend"] = backend
        if backend == "connectorx":
            kwargs["backend_kwargs"] = {"conn": args["cx_url"], "return_type": "arrow"}
        pipeline = _dlt_pipeline(workdir)
        write = args.get("write_disposition", "append")
        source = sql_database(**kwargs)
        if write == "merge":
            source.resources[args["table"]].apply_hints(
                write_disposition={"disposition": "merge", "strategy": "upsert"},
                primary_key="id",
            )
        if args.get("cursor"):
            import dlt

            source.resources[args["table"]].apply_hints(
                incremental=dlt.sources.incremental(args["cursor"])
            )
        pipeline.run(source, table_format="iceberg", loader_file_format="parquet")
        counts = pipeline.last_trace.last_normalize_info.row_counts
        return int(counts.get(args["table"], 0))

    return run


def _dlt_rest_api(args: Args) -> int:
    """dlt's ``rest_api_source`` with its defaults, on the same config floe's source gets."""
    from dlt.sources.rest_api import rest_api_source

    pipeline = _dlt_pipeline(Path(args["workdir"]))
    pipeline.run(
        rest_api_source(args["spec"]), table_format="iceberg", loader_file_format="parquet"
    )
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return int(counts.get(args["table"], 0))


def _raw_append(read: Callable[[Args], Any]) -> Callable[[Args], int]:
    def run(args: Args) -> int:
        workdir = Path(args["workdir"])
        table = read(args)
        catalog = _catalog(workdir)
        catalog.create_namespace_if_not_exists(NAMESPACE)
        name = f"{NAMESPACE}.{args['table']}"
        iceberg = catalog.create_table_if_not_exists(name, schema=table.schema)
        iceberg.append(table)
        return int(table.num_rows)

    return run


def _stream_connectorx(args: Args) -> int:
    """No dlt, no whole table in memory: connectorx's Arrow stream, each batch written as a data
    file by pyiceberg's writer, all of them committed as one snapshot in one transaction."""
    import itertools

    import connectorx as cx
    import pyarrow as pa

    # pyiceberg's own append writes a RecordBatchReader through an executor that takes every
    # batch before writing any, so the stream would be held whole; its writer is called per batch.
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    reader = cx.read_sql(
        args["cx_url"],
        f"SELECT * FROM {args['table']}",
        return_type="arrow_stream",
        batch_size=args.get("batch_size", 1_000_000),
    )
    catalog = _catalog(Path(args["workdir"]))
    catalog.create_namespace_if_not_exists(NAMESPACE)
    iceberg = catalog.create_table_if_not_exists(f"{NAMESPACE}.{args['table']}", reader.schema)
    rows, counter = 0, itertools.count()
    with iceberg.transaction() as txn, txn.update_snapshot().fast_append() as append:
        for batch in reader:
            if batch.num_rows == 0:  # connectorx can end a stream with an empty batch
                continue
            files = _dataframe_to_data_files(
                txn.table_metadata,
                pa.Table.from_batches([batch]),
                iceberg.io,
                append.commit_uuid,
                counter,
            )
            for data_file in files:
                append.append_data_file(data_file)
            rows += batch.num_rows
    return rows


def _read_sqlite3(args: Args) -> Any:
    import sqlite3

    import pyarrow as pa

    path = args["url"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        cursor = db.execute(f"SELECT * FROM {args['table']}")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    return pa.table({name: [r[i] for r in rows] for i, name in enumerate(names)})


def _read_connectorx(args: Args) -> Any:
    import connectorx as cx

    return cx.read_sql(args["cx_url"], f"SELECT * FROM {args['table']}", return_type="arrow")


def _read_rest(args: Args) -> Any:
    """Every page of the items API, one after another, into one Arrow table."""
    import pyarrow as pa
    import requests

    items: list[dict[str, Any]] = []
    url = args["url"].rstrip("/") + "/items"
    with requests.Session() as session:
        page, pages = 1, 1
        while page <= pages:
            response = session.get(url, params={"page": page, "page_size": args["page_size"]})
            response.raise_for_status()
            body = response.json()
            items += body["items"]
            pages = body["total_pages"]
            page += 1
    return pa.Table.from_pylist(items)


def _read_file(args: Args) -> Any:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    path = Path(args["file"])
    return pq.read_table(path) if path.suffix == ".parquet" else pcsv.read_csv(path)


def _floe(args: Args) -> int:
    workdir = Path(args["workdir"])
    floe = Path(sys.executable).with_name("floe")
    out = subprocess.run(
        [str(floe), "ingest", "run", "-f", str(workdir / "floe.yaml"), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(
            f"floe failed ({out.returncode}): {out.stdout[-2000:]} {out.stderr[-2000:]}"
        )
    summary = json.loads(out.stdout)
    return int(sum(s["rows_loaded"] for s in summary["sources"]))


PATHS: dict[str, Callable[[Args], int]] = {
    "floe": _floe,
    "dlt_default": _dlt_sql(None),
    "dlt_pyarrow": _dlt_sql("pyarrow"),
    "dlt_connectorx": _dlt_sql("connectorx"),
    "raw_sqlite3_pyarrow": _raw_append(_read_sqlite3),
    "raw_connectorx": _raw_append(_read_connectorx),
    "stream_connectorx": _stream_connectorx,
    "raw_pyarrow_file": _raw_append(_read_file),
    "dlt_rest_api": _dlt_rest_api,
    "raw_requests_pyarrow": _raw_append(_read_rest),
}


def main() -> None:
    name, raw = sys.argv[1], sys.argv[2]
    args: Args = json.loads(raw)
    started = time.perf_counter()
    rows = PATHS[name](args)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": rows, "seconds": seconds}))


if __name__ == "__main__":
    main()
