"""pytest plugin of floe-testing: makes its fixtures available to every package's tests."""

from __future__ import annotations

import pytest

from floe_testing.coverage_report import CoverageByPackage
from floe_testing.fixtures.entry_points import fake_distribution
from floe_testing.fixtures.ingestion import (
    dlt_config,
    dlt_plugin,
    floe_project,
    floe_project_each_catalog,
    mariadb_db,
    mock_dlt_source,
    postgres_db,
    source_db,
    sqlite_db,
)
from floe_testing.fixtures.seaweedfs import seaweedfs

__all__ = [
    "dlt_config",
    "dlt_plugin",
    "fake_distribution",
    "floe_project",
    "floe_project_each_catalog",
    "mariadb_db",
    "mock_dlt_source",
    "postgres_db",
    "seaweedfs",
    "source_db",
    "sqlite_db",
]


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("_cov"):
        config.pluginmanager.register(CoverageByPackage(config), "floe_coverage_by_package")
