"""The ingestion plugin contract: what the platform asks of the component that loads sources."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any

from floe_core.plugin_metadata import PluginMetadata

__all__ = ["IngestionConfig", "IngestionPlugin", "IngestionResult"]


@dataclass
class IngestionConfig:
    """One source to load: its type, its own configuration and where it lands."""

    source_type: str
    source_config: dict[str, Any] = field(default_factory=dict)
    destination_table: str = ""
    write_mode: str = "append"
    schema_contract: str = "evolve"


@dataclass
class IngestionResult:
    """What one load did."""

    success: bool
    rows_loaded: int = 0
    bytes_written: int = 0
    duration_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


class IngestionPlugin(PluginMetadata):
    """Loads configured sources into lakehouse tables."""

    @property
    @abstractmethod
    def is_external(self) -> bool:
        """True when loading runs in an external service rather than in this process."""

    @abstractmethod
    def create_pipeline(self, config: IngestionConfig) -> Any:
        """Build a runnable pipeline for one source."""

    @abstractmethod
    def run(self, pipeline: Any, **kwargs: Any) -> IngestionResult:
        """Run a pipeline built by :meth:`create_pipeline`."""

    @abstractmethod
    def get_destination_config(self, catalog_config: dict[str, Any]) -> dict[str, Any]:
        """Translate the platform's catalog settings into the plugin's destination settings."""

    def list_available_sources(self) -> list[str]:
        """Source types this plugin can load; empty when it cannot tell."""
        return []
