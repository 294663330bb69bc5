"""A small ``orders`` source with data checks: a SQLite database and its floe.yaml."""

from __future__ import annotations

import os
import sqlite3
import subprocess  # nosec B404  # runs the floe command
import sys
from pathlib import Path
from typing import Any

from floe_testing.fixtures.ingestion import FloeProject

__all__ = ["CHECKS", "floe", "good_rows", "orders_db", "write_project"]

CHECKS = """
      checks:
        orders:
          - not_null: [customer_id]
          - unique: [id]
          - accepted_values: {column: status, values: [paid, shipped]}
          - expression: "amount >= 0"
          - row_count: {min: 1, max: 1000}
        '*':
          - not_null: [status]
            severity: warn
"""


def orders_db(root: Path, rows: list[tuple[Any, ...]]) -> Path:
    """``shop.db`` with ``orders`` (id, customer_id, status, amount, updated) holding ``rows``."""
    path = root / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, customer_id INTEGER, "
            "status TEXT, amount REAL, updated INTEGER)"
        )
        db.execute("DELETE FROM orders")
        db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", rows)
    return path


def good_rows(ids: range) -> list[tuple[Any, ...]]:
    return [(i, 100 + i, "paid" if i % 2 else "shipped", float(i), i) for i in ids]


def write_project(
    project: FloeProject, *, publish: str = "direct", write_mode: str = "append"
) -> None:
    key = ", primary_key: id" if write_mode == "merge" else ""
    project.write(
        f"""
        ingestion:
          sources:
            - name: shop
              type: sql_database
              config: {{credentials: 'sqlite:///shop.db', tables: [orders], cursor_field: updated}}
              destination: {{namespace: bronze, write_mode: {write_mode}, publish: {publish}{key}}}
        """
        + CHECKS.replace("\n      ", "\n              ")
    )


def floe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    return subprocess.run(  # nosec B603  # argv built here, no shell
        [sys.executable, "-m", "floe_cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )
