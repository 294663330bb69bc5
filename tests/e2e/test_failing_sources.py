"""One failing source never stops the others, even when it crashes inside native code.

A source package installed next to floe (a real ``floe.dlt_sources`` entry point on
``PYTHONPATH``) reads PostgreSQL through connectorx, whose Rust code panics on a ``money`` column:
``pyo3_runtime.PanicException``, a ``BaseException``. The run must report that source failed, load
the next one, print the whole JSON summary and exit 1.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from floe_testing.fixtures.databases import Database, SourceDb

_SOURCE_PACKAGE = '''
from floe_ingestion_dlt.hookspecs import hookimpl
from floe_ingestion_dlt.types import SourceType
from pydantic import BaseModel, ConfigDict


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    url: str
    query: str


class NativeReader(SourceType):
    """Rows read by connectorx, as they come."""

    name = "native_reader"
    config_model = Config

    def check_imports(self, config=None):
        import connectorx  # noqa: F401

    def build(self, config, context):
        import connectorx
        import dlt

        @dlt.resource(name="values")
        def values():
            yield connectorx.read_sql(config.url, config.query, return_type="arrow")

        return values()


@hookimpl
def register_source_types(register):
    register(NativeReader())
'''


def _install_source_package(root: Path) -> Path:
    site = root / "site"
    info = site / "floe_dlt_source_native_reader-0.0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: floe-dlt-source-native-reader\nVersion: 0.0.1\n"
    )
    (info / "entry_points.txt").write_text(
        "[floe.dlt_sources]\nnative_reader = floe_dlt_source_native_reader\n"
    )
    (site / "floe_dlt_source_native_reader.py").write_text(_SOURCE_PACKAGE)
    return site


@pytest.mark.requires_service
def test_a_panic_in_one_source_is_that_sources_failure(
    tmp_path: Path, postgres_db: Database
) -> None:
    db = SourceDb(postgres_db)
    db.execute(f"CREATE TABLE {db.table} (id INTEGER, amount MONEY)")
    db.execute(f"INSERT INTO {db.table} VALUES (1, 12.34)")
    with sqlite3.connect(tmp_path / "shop.db") as shop:
        shop.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        shop.executemany("INSERT INTO orders VALUES (?)", [(i,) for i in range(7)])
    url = postgres_db.url.replace("postgresql+psycopg2://", "postgresql://")
    (tmp_path / "floe.yaml").write_text(
        textwrap.dedent(
            f"""
            ingestion:
              sources:
                - name: ledger
                  type: native_reader
                  config: {{url: "{url}", query: "SELECT id, amount FROM {db.table}"}}
                  destination: {{namespace: bronze}}
                - name: shop
                  type: sql_database
                  config: {{credentials: "sqlite:///shop.db", tables: [orders]}}
                  destination: {{namespace: bronze}}
            """
        )
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(_install_source_package(tmp_path)),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "RUST_BACKTRACE": "0",
    }

    run = subprocess.run(
        [sys.executable, "-m", "floe_cli", "ingest", "run", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 1, run.stderr
    summary = json.loads(run.stdout)
    ledger, shop = summary["sources"]
    assert (ledger["source"], ledger["status"], ledger["error_category"]) == (
        "ledger",
        "failed",
        "permanent",
    )
    assert ledger["error"].startswith("source 'ledger' (native_reader) -> bronze.*: extract failed")
    assert "PanicException" in ledger["error"]
    assert "\n" not in ledger["error"]
    assert (shop["status"], shop["tables"]) == ("success", {"bronze.orders": 7})
    assert summary["success"] is False
    assert "Traceback" not in run.stderr
    assert len(run.stderr.splitlines()) < 20, run.stderr
    db.dispose()
