"""The orchestrator plugin is registered under ``floe.orchestrator: dagster`` and loads."""

from __future__ import annotations

import subprocess
import sys

from floe_core import PluginMetadata, PluginRegistry, PluginType
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
from floe_testing import BasePluginDiscoveryTests


class TestDagsterOrchestratorDiscovery(BasePluginDiscoveryTests):
    entry_point_group = "floe.orchestrator"
    entry_point_name = "dagster"
    expected_module_prefix = "floe_orchestrator_dagster"
    expected_class_name = "DagsterOrchestratorPlugin"
    expected_abc = PluginMetadata


def test_registry_loads_the_plugin() -> None:
    plugin = PluginRegistry().get(PluginType.ORCHESTRATOR, "dagster")
    assert isinstance(plugin, DagsterOrchestratorPlugin)
    assert plugin.floe_api_version == "1.0"


def test_loading_the_entry_point_does_not_import_dagster() -> None:
    code = (
        "import sys\n"
        "from floe_core import PluginRegistry, PluginType\n"
        "PluginRegistry().get(PluginType.ORCHESTRATOR, 'dagster')\n"
        "print('dagster' in sys.modules, 'dlt' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "False"]
