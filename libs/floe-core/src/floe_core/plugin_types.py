"""The kinds of plugin floe knows; each value is the entry-point group that plugins register in."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["FLOE_API_VERSION", "PluginType"]

#: The plugin API version this platform implements. Plugins declare the version they were built for.
FLOE_API_VERSION = "1.0"


class PluginType(StrEnum):
    """Plugin types; the value is the ``importlib.metadata`` entry-point group.

    - ``INGESTION``: loads sources into the lakehouse (``floe.ingestion``; the dlt plugin).
    - ``ORCHESTRATOR``: schedules and runs assets (``floe.orchestrator``; Dagster).
    - ``CATALOG``: an Iceberg catalog implementation (``floe.catalog``).
    - ``STORAGE``: object storage for table data (``floe.storage``).
    - ``COMPUTE``: the engine transformations run on (``floe.compute``).
    - ``DBT``: how dbt projects are compiled and run (``floe.dbt``).
    - ``SEMANTIC_LAYER``: metrics and semantic models served to consumers (``floe.semantic_layer``).
    - ``LINEAGE_BACKEND``: where lineage events go (``floe.lineage_backend``).
    - ``TELEMETRY_BACKEND``: where traces and metrics go (``floe.telemetry_backend``).
    - ``SECRETS``: where secret values are read from (``floe.secrets``).
    - ``IDENTITY``: authentication of users and services (``floe.identity``).
    """

    INGESTION = "floe.ingestion"
    ORCHESTRATOR = "floe.orchestrator"
    CATALOG = "floe.catalog"
    STORAGE = "floe.storage"
    COMPUTE = "floe.compute"
    DBT = "floe.dbt"
    SEMANTIC_LAYER = "floe.semantic_layer"
    LINEAGE_BACKEND = "floe.lineage_backend"
    TELEMETRY_BACKEND = "floe.telemetry_backend"
    SECRETS = "floe.secrets"
    IDENTITY = "floe.identity"

    @property
    def short_name(self) -> str:
        """The type's name as written in ``floe.yaml`` and shown by ``floe plugins list``."""
        return self.value.removeprefix("floe.")
