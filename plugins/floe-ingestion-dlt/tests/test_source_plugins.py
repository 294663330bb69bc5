"""Source types come from installed packages through pluggy; a missing one names its package."""

from __future__ import annotations

import os
import subprocess
import sys

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
        get_source_type("rest_api")
    assert "pip install floe-dlt-source-rest-api" in str(caught.value)
    assert caught.value.distribution == "floe-dlt-source-rest-api"


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
