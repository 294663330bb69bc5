"""Benchmark data: a SQLite table of N rows with the column types a typical source has."""

from __future__ import annotations

import argparse
import random
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

START = datetime(2026, 1, 1)


def rows(count: int, seed: int = 7) -> Iterator[tuple[object, ...]]:
    rng = random.Random(seed)
    for i in range(1, count + 1):
        at = START + timedelta(seconds=i)
        yield (
            i,
            f"customer {i % 50_000}",
            round(rng.uniform(1, 10_000), 2),
            rng.random(),
            i % 3 == 0,
            at.date().isoformat(),
            at.isoformat(sep=" "),
            f'{{"k": {i % 100}}}',
        )


def make_sqlite(path: Path, count: int) -> Path:
    """Create ``path`` with table ``events`` holding ``count`` rows (reused when it exists)."""
    if path.exists():
        with sqlite3.connect(path) as db:
            if db.execute("SELECT count(*) FROM events").fetchone()[0] == count:
                return path
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(
            """CREATE TABLE events (id INTEGER PRIMARY KEY, name TEXT, amount DOUBLE PRECISION,
            score DOUBLE PRECISION, flag BOOLEAN, day DATE, updated_at TIMESTAMP, payload TEXT)"""
        )
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows(count))
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(make_sqlite(args.path, args.rows))
