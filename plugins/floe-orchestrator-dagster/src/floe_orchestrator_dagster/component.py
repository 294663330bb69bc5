"""``FloeIngestionComponent``: a floe project's ingestion as a Dagster component (``dg``).

A Dagster project declares it in a ``defs.yaml``::

    type: floe_orchestrator_dagster.FloeIngestionComponent
    attributes:
      config: ../../../../floe.yaml     # relative to this defs.yaml's folder

and ``dg list defs`` / ``dg check defs`` show the ingestion assets, jobs and schedules, exactly
those of ``floe_orchestrator_dagster.definitions:defs`` for the same floe.yaml.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

__all__ = ["FloeIngestionComponent"]


class FloeIngestionComponent(dg.Component, dg.Model, dg.Resolvable):
    """The ingestion of the floe project whose floe.yaml ``config`` names."""

    config: str = "floe.yaml"

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        from floe_core.compiler import compile_spec
        from floe_core.errors import FloeConfigError

        from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin

        path = Path(self.config)
        if not path.is_absolute():
            path = (context.path / path).resolve()
        if not path.is_file():
            raise FloeConfigError(
                "file not found; attributes.config names the floe.yaml, relative to the "
                "defs.yaml that declares this component",
                path=str(path),
            )
        return DagsterOrchestratorPlugin().create_definitions(compile_spec(path))
