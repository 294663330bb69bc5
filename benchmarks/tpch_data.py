"""TPC-H ``lineitem`` in PostgreSQL for the tpch suite: generated, loaded once per scale, changed
for the merge and reset between repetitions.

    python benchmarks/tpch_data.py prepare 0.01

``tpchgen-cli`` runs from its own environment under ``benchmarks/.venvs/`` and writes Parquet
under ``benchmarks/.data/``; the rows reach ``floe_bench.public.tpch_lineitem`` through one
``COPY ... FROM STDIN`` fed batch by batch. The table gets the primary key (l_orderkey,
l_linenumber) and ``l_updated_at``, distinct per row, so incremental loads have a cursor.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
VENV = HERE / ".venvs" / "tpchgen"
TPCHGEN = "tpchgen-cli==4.0.0"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "floe_bench"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
TABLE = "tpch_lineitem"
BEFORE = "tpch_lineitem_before"  # the changed rows as loaded, to reset the table from
META = "tpch_lineitem_meta"
SAMPLE = "tpch_lineitem_sample"  # a few rows of the same shape, for a first untimed run
KEY = ["l_orderkey", "l_linenumber"]
CURSOR = "l_updated_at"
# A row's cursor: this instant plus (l_orderkey * 8 + l_linenumber) milliseconds (an order has at
# most 7 lines), so no two rows share a value. A change moves it a year forward.
EPOCH = datetime(2024, 1, 1)
CHANGED = "mod(l_orderkey, 10) = 0"  # every tenth order, all its lines: spread over the whole table

COLUMNS = [
    ("l_orderkey", "BIGINT"),
    ("l_partkey", "BIGINT"),
    ("l_suppkey", "BIGINT"),
    ("l_linenumber", "INTEGER"),
    ("l_quantity", "NUMERIC(15, 2)"),
    ("l_extendedprice", "NUMERIC(15, 2)"),
    ("l_discount", "NUMERIC(15, 2)"),
    ("l_tax", "NUMERIC(15, 2)"),
    ("l_returnflag", "VARCHAR(1)"),
    ("l_linestatus", "VARCHAR(1)"),
    ("l_shipdate", "DATE"),
    ("l_commitdate", "DATE"),
    ("l_receiptdate", "DATE"),
    ("l_shipinstruct", "VARCHAR(25)"),
    ("l_shipmode", "VARCHAR(10)"),
    ("l_comment", "VARCHAR(44)"),
    (CURSOR, "TIMESTAMP"),
]
DDL = ", ".join(f"{name} {kind} NOT NULL" for name, kind in COLUMNS)


def tpchgen() -> Path:
    """The ``tpchgen-cli`` executable, installed into its own environment on first use."""
    exe = VENV / "bin" / "tpchgen-cli"
    if exe.exists():
        return exe
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is needed to install tpchgen-cli (https://docs.astral.sh/uv/)")
    subprocess.run([uv, "venv", "--quiet", str(VENV)], check=True)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(VENV / "bin" / "python"), TPCHGEN],
        check=True,
    )
    return exe


def generate(scale: float) -> Path:
    """lineitem at ``scale`` as one Parquet file (reused when present)."""
    folder = DATA / f"tpch_sf{scale:g}"
    file = folder / "lineitem.parquet"
    if not file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(tpchgen()), "parquet", "-s", f"{scale:g}", "-T", "lineitem", "-o", str(folder)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return file


class _CsvStream:
    """A file-like object ``COPY FROM STDIN`` reads: the Parquet file as CSV, batch by batch."""

    def __init__(self, parquet: Path, limit: int | None = None) -> None:
        self._chunks = _csv_chunks(parquet, limit)
        self._buffer = b""
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        if self._pos >= len(self._buffer):
            self._buffer, self._pos = next(self._chunks, b""), 0
        end = len(self._buffer) if size < 0 else self._pos + size
        out = self._buffer[self._pos : end]
        self._pos += len(out)
        return out

    def readline(self, size: int = -1) -> bytes:  # psycopg2 asks for it; COPY reads by size
        return self.read(size)


def _csv_chunks(parquet: Path, limit: int | None) -> Iterator[bytes]:
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    epoch = pa.scalar(EPOCH, pa.timestamp("ms"))
    options = pcsv.WriteOptions(include_header=False)
    left = limit
    for batch in pq.ParquetFile(parquet).iter_batches(batch_size=100_000):
        if left is not None:
            batch, left = batch.slice(0, left), left - min(left, batch.num_rows)
        offset = pc.add(
            pc.multiply(batch.column("l_orderkey"), 8),
            pc.cast(batch.column("l_linenumber"), pa.int64()),
        )
        batch = batch.append_column(CURSOR, pc.add(epoch, pc.cast(offset, pa.duration("ms"))))
        schema = pa.schema(
            f.with_type(pa.string()) if f.type == pa.string_view() else f for f in batch.schema
        )
        out = io.BytesIO()
        pcsv.write_csv(batch.cast(schema), out, options)
        yield out.getvalue()
        if left == 0:
            return


def connect(autocommit: bool = False) -> Any:
    """A connection to the benchmark database, created when missing."""
    import psycopg2

    admin = psycopg2.connect(PG_ADMIN)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE DATABASE {PG_DB}")
    admin.close()
    conn = psycopg2.connect(PG_URL)
    conn.autocommit = autocommit
    return conn


def _loaded(cur: Any, scale: float, rows: int) -> bool:
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (META,))
    if not cur.fetchone()[0]:
        return False
    cur.execute(f"SELECT scale, rows FROM {META}")
    return bool(cur.fetchone() == (f"{scale:g}", rows))


def prepare(scale: float) -> int:
    """Generate and load lineitem at ``scale`` unless it is loaded already; return its rows."""
    import pyarrow.parquet as pq

    parquet = generate(scale)
    rows = pq.ParquetFile(parquet).metadata.num_rows
    conn = connect()
    with conn, conn.cursor() as cur:
        loaded = _loaded(cur, scale, rows)
    if loaded:
        reset(conn)
        conn.close()
        return int(rows)
    with conn, conn.cursor() as cur:
        for name in (TABLE, BEFORE, META, SAMPLE):
            cur.execute(f"DROP TABLE IF EXISTS {name}")
        cur.execute(f"CREATE TABLE {TABLE} ({DDL})")
        cur.copy_expert(f"COPY {TABLE} FROM STDIN WITH (FORMAT csv)", _CsvStream(parquet), 1 << 20)
        cur.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY ({', '.join(KEY)})")
        cur.execute(
            f"CREATE TABLE {BEFORE} AS SELECT {', '.join(KEY)}, l_extendedprice, l_comment, "
            f"{CURSOR} FROM {TABLE} WHERE {CHANGED}"
        )
        cur.execute(f"ALTER TABLE {BEFORE} ADD PRIMARY KEY ({', '.join(KEY)})")
        cur.execute(f"CREATE TABLE {SAMPLE} ({DDL}, PRIMARY KEY ({', '.join(KEY)}))")
        cur.copy_expert(
            f"COPY {SAMPLE} FROM STDIN WITH (FORMAT csv)", _CsvStream(parquet, 1000), 1 << 20
        )
        # New rows get l_orderkey + key_offset: above every key of the table.
        cur.execute(f"SELECT max(l_orderkey) FROM {TABLE}")
        offset = 10 ** len(str(cur.fetchone()[0]))
        cur.execute(f"CREATE TABLE {META} (scale TEXT, rows BIGINT, key_offset BIGINT)")
        cur.execute(f"INSERT INTO {META} VALUES (%s, %s, %s)", (f"{scale:g}", rows, offset))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"VACUUM ANALYZE {TABLE}")
    conn.close()
    return int(rows)


def change(conn: Any) -> tuple[int, int]:
    """Change every tenth order (price + 1.00, comment, cursor a year on) and add as many new
    rows with new l_orderkey values; return (changed, new)."""
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT key_offset FROM {META}")
        offset = cur.fetchone()[0]
        cur.execute(
            f"UPDATE {TABLE} SET l_extendedprice = l_extendedprice + 1, l_comment = 'changed', "
            f"{CURSOR} = {CURSOR} + interval '1 year' WHERE {CHANGED} AND l_orderkey < %s",
            (offset,),
        )
        changed = cur.rowcount
        names = [name for name, _ in COLUMNS[1:-2]]  # l_partkey .. l_shipmode
        cur.execute(
            f"INSERT INTO {TABLE} SELECT l_orderkey + %s, {', '.join(names)}, 'new', "
            f"{CURSOR} + %s * interval '8 milliseconds' FROM {TABLE} "
            f"WHERE {CHANGED} AND l_orderkey < %s",
            (offset, offset, offset),
        )
        return changed, cur.rowcount


def reset(conn: Any) -> None:
    """Put the table back as it was loaded: drop the new rows, restore the changed ones."""
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT key_offset FROM {META}")
        offset = cur.fetchone()[0]
        cur.execute(f"DELETE FROM {TABLE} WHERE l_orderkey >= %s", (offset,))
        deleted = cur.rowcount
        cur.execute(
            f"UPDATE {TABLE} t SET l_extendedprice = b.l_extendedprice, l_comment = b.l_comment, "
            f"{CURSOR} = b.{CURSOR} FROM {BEFORE} b WHERE t.l_orderkey = b.l_orderkey "
            f"AND t.l_linenumber = b.l_linenumber AND t.{CURSOR} <> b.{CURSOR}"
        )
        restored = cur.rowcount
    if deleted or restored:
        autocommit = conn.autocommit
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"VACUUM ANALYZE {TABLE}")
        conn.autocommit = autocommit


def expected(conn: Any) -> tuple[int, Decimal]:
    """Rows and sum(l_extendedprice) of the table now."""
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*), sum(l_extendedprice) FROM {TABLE}")
        rows, total = cur.fetchone()
    return int(rows), Decimal(total)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "prepare":
        raise SystemExit(f"usage: {sys.argv[0]} prepare SCALE")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    print(prepare(float(sys.argv[2])))
