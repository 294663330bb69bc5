"""floe core: plugin contracts, the plugin registry, and the floe.yaml model and compiler."""

from floe_core.artifacts import CompiledArtifacts, PluginRef, ResolvedPlugins
from floe_core.compiler import DEFAULT_STATE_DIR, compile_spec, reveal
from floe_core.errors import (
    DuplicatePluginError,
    FloeConfigError,
    FloeError,
    PluginConfigurationError,
    PluginError,
    PluginIncompatibleError,
    PluginLoadError,
    PluginNotFoundError,
)
from floe_core.health import HealthState, HealthStatus
from floe_core.ingestion import IngestionConfig, IngestionPlugin, IngestionResult
from floe_core.plugin_metadata import PluginMetadata
from floe_core.plugin_types import FLOE_API_VERSION, PluginType
from floe_core.registry import PluginDiscovery, PluginLoader, PluginRegistry
from floe_core.spec import (
    CatalogSpec,
    DestinationSpec,
    FloeSpec,
    RetrySpec,
    S3Spec,
    SourceSpec,
    StorageSpec,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_STATE_DIR",
    "FLOE_API_VERSION",
    "CatalogSpec",
    "CompiledArtifacts",
    "DestinationSpec",
    "DuplicatePluginError",
    "FloeConfigError",
    "FloeError",
    "FloeSpec",
    "HealthState",
    "HealthStatus",
    "IngestionConfig",
    "IngestionPlugin",
    "IngestionResult",
    "PluginConfigurationError",
    "PluginDiscovery",
    "PluginError",
    "PluginIncompatibleError",
    "PluginLoadError",
    "PluginLoader",
    "PluginMetadata",
    "PluginNotFoundError",
    "PluginRef",
    "PluginRegistry",
    "PluginType",
    "ResolvedPlugins",
    "RetrySpec",
    "S3Spec",
    "SourceSpec",
    "StorageSpec",
    "compile_spec",
    "reveal",
]
