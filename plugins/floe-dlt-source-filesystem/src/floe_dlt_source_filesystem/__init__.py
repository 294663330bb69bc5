"""Filesystem source for floe: CSV, JSON Lines and Parquet files, local or on S3."""

from floe_dlt_source_filesystem.config import FilesystemConfig
from floe_dlt_source_filesystem.source import FilesystemSource

__all__ = ["FilesystemConfig", "FilesystemSource"]
