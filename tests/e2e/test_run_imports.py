"""``floe ingest run`` of a SQLite source imports no module the run does not use: not the other
source plugins, the REST catalog, the other databases' SQL dialects, Dagster or rich."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

#: Runs the CLI, then prints the modules the process imported as its last line.
_RUN = """
import json, sys
sys.argv = ["floe", "ingest", "run", "--json"]
from floe_cli.main import main
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
print(json.dumps(sorted(sys.modules)))
"""

UNUSED = (
    "floe_dlt_source_rest_api",
    "floe_dlt_source_filesystem",
    "floe_orchestrator_dagster",
    "dagster",
    "pyiceberg.catalog.rest",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.mysql",
    "rich",
)


def test_a_sqlite_run_imports_only_what_it_uses(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "source.db") as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, name TEXT)")
        db.executemany("INSERT INTO events VALUES (?, ?)", ((i, f"e{i}") for i in range(100)))
    (tmp_path / "floe.yaml").write_text(
        "ingestion:\n  sources:\n    - name: events\n      type: sql_database\n"
        "      config: {credentials: 'sqlite:///source.db', tables: [events]}\n"
        "      destination: {namespace: bronze}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    out = subprocess.run(
        [sys.executable, "-c", _RUN], cwd=tmp_path, env=env, capture_output=True, text=True
    )

    assert out.returncode == 0, out.stderr
    modules = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "floe_dlt_source_sql_database" in modules  # the run did load the table
    assert '"rows_loaded": 100' in out.stdout
    assert [m for m in UNUSED if m in modules] == []
