"""The floe command as a user runs it: a real process, its exit code and its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from floe_testing.fixtures.ingestion import FloeProject

FLOE = [sys.executable, "-m", "floe_cli"]


def floe(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FLOE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def test_version() -> None:
    result = floe("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("floe, version ")


def test_plugins_list_json_is_valid() -> None:
    result = floe("plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert all({"type", "name", "distribution", "version"} <= set(row) for row in rows)


def test_compile_masks_secrets(tmp_path: Path) -> None:
    (tmp_path / "floe.yaml").write_text(
        "ingestion:\n  sources:\n    - name: shop\n      type: sql_database\n"
        "      config: {credentials: '${DB}'}\n      destination: {namespace: bronze}\n",
        encoding="utf-8",
    )
    out = tmp_path / "artifacts.json"
    result = floe("compile", "-o", str(out), cwd=tmp_path, env={"DB": "postgresql://u:canary@h/d"})
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "canary" not in text
    assert json.loads(text)["spec"]["ingestion"]["sources"][0]["name"] == "shop"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ingestion: [\n", "invalid YAML"),
        ("catalogue: {}\n", "catalogue: unknown key 'catalogue'"),
        ("retry: {max_retries: -1}\n", "retry.max_retries: Input should be greater than"),
    ],
)
def test_invalid_config_exits_2_with_one_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "floe.yaml").write_text(text, encoding="utf-8")
    result = floe("compile", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "floe.yaml" in lines[0]
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = floe("compile", "-f", "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: nope.yaml: file not found"


def test_tables_maintain_dry_run_changes_nothing_then_maintains(floe_project: FloeProject) -> None:
    import sqlite3

    floe_project.sqlite_events(10, incremental=True)
    floe_project.file.write_text(
        floe_project.file.read_text(encoding="utf-8")
        + "maintenance: {compact: {min_input_files: 2}}\n",
        encoding="utf-8",
    )
    floe_project.run()
    with sqlite3.connect(floe_project.root / "source.db") as db:
        db.execute("INSERT INTO events VALUES (10, 'e10')")
    floe_project.run()
    config = str(floe_project.file)

    dry = floe("tables", "maintain", "-f", config, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert floe_project.snapshots("bronze.events") == 2
    planned = json.loads(dry.stdout)
    assert planned["dry_run"] is True
    assert (planned["data_files_before"], planned["data_files_after"]) == (2, 1)

    done = floe("tables", "maintain", "bronze.events", "-f", config, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["compaction"] == "compacted"
    stats = floe("tables", "stats", "bronze.events", "-f", config, "--json")
    figures = json.loads(stats.stdout)
    assert (figures["data_files"], figures["records"], figures["snapshots"]) == (1, 11, 3)


def test_tables_maintain_of_a_missing_table_exits_1_naming_it(floe_project: FloeProject) -> None:
    floe_project.sqlite_events(3)
    result = floe("tables", "maintain", "bronze.nope", "-f", str(floe_project.file))
    assert result.returncode == 1
    assert "error: maintaining bronze.nope: NoSuchTableError" in result.stderr
