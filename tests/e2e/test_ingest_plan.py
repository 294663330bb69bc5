"""``floe ingest plan``: what a run would do, with every file of the project left as it was."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from floe_testing.orders import floe

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart"
CHECKS = """
      checks:
        orders:
          - unique: [id]
          - row_count: {min: 1}
            severity: warn
"""


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("floe.yaml", "shop.db"):
        shutil.copy(QUICKSTART / name, tmp_path / name)
    with (tmp_path / "floe.yaml").open("a", encoding="utf-8") as file:
        file.write(CHECKS)
    return tmp_path


def test_plan_of_a_fresh_project_creates_nothing(project: Path) -> None:
    before = _hashes(project)
    result = floe("ingest", "plan", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    assert _hashes(project) == before  # no .floe folder, no catalog, no pipeline state
    [shop] = json.loads(result.stdout)["sources"]
    assert (shop["write_mode"], shop["merge_strategy"], shop["publish"]) == (
        "merge",
        "upsert",
        "direct",
    )
    orders = next(t for t in shop["tables"] if t["table"] == "bronze.orders")
    assert orders["exists"] is False
    assert orders["reads_after"] is None
    assert orders["checks"] == ["unique(id) [error]", "row_count(min=1) [warn]"]


def test_plan_after_a_run_shows_the_stored_cursor_and_changes_nothing(project: Path) -> None:
    assert floe("ingest", "run", cwd=project).returncode == 0
    with sqlite3.connect(project / "shop.db") as db:
        [(latest,)] = db.execute("SELECT max(updated_at) FROM orders").fetchall()
    before = _hashes(project)

    result = floe("ingest", "plan", cwd=project)
    as_json = floe("ingest", "plan", "--json", "--source", "shop", cwd=project)

    assert result.returncode == 0, result.stderr
    assert _hashes(project) == before  # catalog, warehouse and pipeline state byte-identical
    assert "source shop (sql_database): merge (upsert), publish direct" in result.stdout
    orders = next(
        t
        for t in json.loads(as_json.stdout)["sources"][0]["tables"]
        if t["table"] == "bronze.orders"
    )
    assert orders["exists"] is True
    assert orders["rows"] == 5000
    assert orders["reads_after"].replace(" ", "T") == latest.replace(" ", "T")
    assert f"updated_at > {orders['reads_after']}" in result.stdout


def test_plan_of_an_unknown_source_exits_2(project: Path) -> None:
    result = floe("ingest", "plan", "--source", "nope", cwd=project)
    assert result.returncode == 2
    assert "no source named 'nope'" in result.stderr
