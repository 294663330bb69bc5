"""Source types come from installed packages through pluggy; a missing one names its package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from floe_ingestion_dlt import SourceNotInstalledError
from floe_ingestion_dlt.plugins import PLUGINS_ENV, get_source_type, source_types


def test_installed_source_types() -> None:
    assert "sql_database" in source_types()
    source = get_source_type("sql_database")
    source.check_imports()
    assert source.distribution == "floe-dlt-source-sql-database"


def test_missing_source_type_names_its_package() -> None:
    with pytest.raises(SourceNotInstalledError) as caught:
        get_source_type("salesforce")
    assert "pip install floe-dlt-source-salesforce" in str(caught.value)
    assert caught.value.distribution == "floe-dlt-source-salesforce"


def test_environment_variable_restricts_loaded_plugins() -> None:
    code = (
        "from floe_ingestion_dlt.plugins import source_types, destination_types;"
        "print(sorted(source_types()), sorted(destination_types()))"
    )
    env = {**os.environ, PLUGINS_ENV: "iceberg"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[] ['iceberg']"


def test_a_broken_source_package_does_not_hide_the_others(tmp_path: Path) -> None:
    info = tmp_path / "floe_dlt_source_broken-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: floe-dlt-source-broken\nVersion: 0.0.1\n"
    )
    (info / "entry_points.txt").write_text("[floe.dlt_sources]\nbroken = floe_dlt_source_broken\n")
    (tmp_path / "floe_dlt_source_broken.py").write_text("raise ImportError('boom')\n")
    code = (
        "from floe_ingestion_dlt.plugins import get_source_type, source_types\n"
        "print('sql_database' in source_types())\n"
        "try:\n    get_source_type('broken')\nexcept Exception as exc:\n    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    lines = [line for line in out.stdout.strip().splitlines() if "plugin_load_failed" not in line]
    assert "plugin_load_failed" in out.stdout
    assert lines[0] == "True"
    assert lines[1] == "source type 'broken' is installed but failed to load: ImportError: boom"
