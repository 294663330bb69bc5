"""Dagster runs in a throwaway instance; projects are the quickstart or small local sources."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from floe_testing.fixtures.ingestion import FloeProject

QUICKSTART = Path(__file__).parents[3] / "examples" / "quickstart"
_INSTANCE = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
"""


@pytest.fixture(scope="session", autouse=True)
def dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``DAGSTER_HOME`` in a temporary folder, telemetry of Dagster and dlt off.

    Runs launched from the web UI start at once (no daemon dequeues them in tests).
    """
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text(_INSTANCE, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        patch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        yield home


@pytest.fixture
def quickstart(floe_project: FloeProject) -> FloeProject:
    """A copy of ``examples/quickstart`` (floe.yaml and shop.db) in the test's folder."""
    for name in ("floe.yaml", "shop.db"):
        shutil.copy(QUICKSTART / name, floe_project.root / name)
    return floe_project
