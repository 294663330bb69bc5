"""``FloeIngestionComponent`` in a ``dg`` project: ``dg check defs`` and ``dg list defs`` show
the ingestion assets, jobs and schedules of the floe.yaml its ``defs.yaml`` names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from floe_testing.fixtures.ingestion import FloeProject

_PYPROJECT = """\
[project]
name = "ingest-proj"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[tool.dg]
directory_type = "project"

[tool.dg.project]
root_module = "ingest_proj"
"""
_DEFINITIONS = """\
from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(project_root=Path(__file__).parent.parent.parent)
"""


@pytest.fixture
def dg_project(quickstart: FloeProject, tmp_path: Path) -> Path:
    """A dg project whose ``defs/ingestion/defs.yaml`` declares the quickstart's ingestion."""
    root = tmp_path / "dg_project"
    package = root / "src" / "ingest_proj"
    (package / "defs" / "ingestion").mkdir(parents=True)
    (root / "pyproject.toml").write_text(_PYPROJECT)
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    (package / "definitions.py").write_text(_DEFINITIONS)
    config = os.path.relpath(quickstart.file, package / "defs" / "ingestion")
    (package / "defs" / "ingestion" / "defs.yaml").write_text(
        textwrap.dedent(
            f"""\
            type: floe_orchestrator_dagster.FloeIngestionComponent
            attributes:
              config: {config}
            """
        )
    )
    return root


def _dg(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    dg = shutil.which("dg", path=str(bin_dir))
    assert dg is not None, "the dg command (dagster-dg-cli) is not installed"
    env = {
        **os.environ,
        "VIRTUAL_ENV": sys.prefix,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(project / "src"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [dg, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )


def test_dg_checks_and_lists_the_ingestion_definitions(dg_project: Path) -> None:
    check = _dg(dg_project, "check", "defs")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "All definitions loaded successfully" in check.stdout + check.stderr

    listed = _dg(dg_project, "list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr
    defs = json.loads(listed.stdout[listed.stdout.index("{") :])
    assert {a["asset_key"] for a in defs["assets"]} == {
        "ingestion/shop/customers",
        "ingestion/shop/orders",
    }
    assert {"ingest_shop", "maintain_shop"} <= {j["name"] for j in defs["jobs"]}
