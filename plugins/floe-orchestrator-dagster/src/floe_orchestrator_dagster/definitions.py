"""The Dagster code location of a floe project.

``dagster dev -m floe_orchestrator_dagster.definitions`` shows its assets. The project is the
floe.yaml named by ``FLOE_CONFIG`` (default ``./floe.yaml``), compiled when Dagster loads this
module.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import Definitions
from floe_core.compiler import compile_spec

from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

__all__ = ["CONFIG_ENV", "DEFAULT_CONFIG", "build_definitions", "defs"]

#: Environment variable naming the project's floe.yaml.
CONFIG_ENV = "FLOE_CONFIG"
DEFAULT_CONFIG = "floe.yaml"


def build_definitions(config_file: str | Path | None = None) -> Definitions:
    """Definitions of ``config_file``, else of ``$FLOE_CONFIG``, else of ``./floe.yaml``.

    Raises:
        FloeConfigError: the file is missing or invalid (the message names it and says how to
            point ``FLOE_CONFIG`` at it).
    """
    from floe_core.errors import FloeConfigError

    path = Path(config_file or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    if not path.is_file():
        raise FloeConfigError(
            f"file not found; set {CONFIG_ENV} to the project's floe.yaml", path=str(path)
        )
    return DagsterOrchestratorPlugin().create_definitions(compile_spec(path))


defs = build_definitions()
