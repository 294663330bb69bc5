"""floe's dlt ingestion plugin."""

from floe_ingestion_dlt.config import DltIngestionConfig
from floe_ingestion_dlt.engine import LoadEngine, LoadOutcome, TableLoad
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
from floe_ingestion_dlt.plugin import DltIngestionPlugin

__all__ = [
    "DestinationWriteError",
    "DltIngestionConfig",
    "DltIngestionPlugin",
    "ErrorCategory",
    "IngestionError",
    "LoadEngine",
    "LoadOutcome",
    "PipelineConfigurationError",
    "SchemaContractViolation",
    "SourceConnectionError",
    "SourceDataError",
    "SourceNotInstalledError",
    "TableLoad",
    "categorize_error",
]
