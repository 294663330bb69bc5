"""``floe ingest run`` shows live per-table progress on a terminal; ``--json`` stays pure JSON."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("floe.yaml", "shop.db"):
        shutil.copy(QUICKSTART / name, tmp_path / name)
    return tmp_path


def _run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run ``floe`` with stderr on a pseudo-terminal; its exit code, stdout and the terminal's
    text."""
    master, slave = pty.openpty()
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", "COLUMNS": "120"}
    process = subprocess.Popen(
        [sys.executable, "-m", "floe_cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    terminal = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        terminal += chunk
    stdout = process.stdout.read() if process.stdout else ""
    code = process.wait(timeout=120)
    os.close(master)
    return code, stdout, terminal.decode("utf-8", "replace")


def test_a_terminal_shows_a_line_per_table_updated_in_place(project: Path) -> None:
    code, stdout, terminal = _run_on_a_terminal(["ingest", "run"], project)

    assert code == 0, terminal
    assert "> shop: sql_database -> bronze.*" in terminal
    lines = [line for line in terminal.replace("\r", "").split("\n") if "rows/s" in line]
    customers = [line for line in lines if "bronze.customers" in line]
    orders = [line for line in lines if "bronze.orders" in line]
    assert customers
    assert orders
    assert "500 rows" in customers[-1]
    assert "5,000 rows" in orders[-1]
    assert "\x1b[2K" in terminal  # lines are rewritten in place, not appended
    assert "shop: 5,500 rows in" in terminal
    assert "bronze.orders" in stdout  # the summary table


def test_json_output_is_pure_json_even_on_a_terminal(project: Path) -> None:
    code, stdout, terminal = _run_on_a_terminal(["ingest", "run", "--json"], project)

    assert code == 0, terminal
    summary = json.loads(stdout)
    [shop] = summary["sources"]
    assert shop["tables"] == {"bronze.customers": 500, "bronze.orders": 5000}
    assert "\x1b[2K" not in terminal  # no live display under --json


def test_a_full_read_shows_a_percentage_of_the_databases_row_count(project: Path) -> None:
    config = project / "floe.yaml"
    config.write_text(config.read_text().replace("cursor_field: updated_at", ""))

    code, _, terminal = _run_on_a_terminal(["ingest", "run"], project)

    assert code == 0, terminal
    orders = [line for line in terminal.split("\n") if "bronze.orders" in line and "rows/s" in line]
    assert orders[-1].rstrip().endswith("100%")
