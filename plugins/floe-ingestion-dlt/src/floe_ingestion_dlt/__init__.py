"""floe's dlt ingestion plugin."""

from floe_ingestion_dlt.config import DltIngestionConfig, IngestionSourceConfig, RetryConfig
from floe_ingestion_dlt.errors import (
    DestinationWriteError,
    ErrorCategory,
    IngestionError,
    PipelineConfigurationError,
    SchemaContractViolation,
    SourceConnectionError,
    SourceDataError,
    SourceNotInstalledError,
    categorize_error,
)
from floe_ingestion_dlt.plugin import DltIngestionPlugin, SourceRun

__all__ = [
    "DestinationWriteError",
    "DltIngestionConfig",
    "DltIngestionPlugin",
    "ErrorCategory",
    "IngestionError",
    "IngestionSourceConfig",
    "PipelineConfigurationError",
    "RetryConfig",
    "SchemaContractViolation",
    "SourceConnectionError",
    "SourceDataError",
    "SourceNotInstalledError",
    "SourceRun",
    "categorize_error",
]
