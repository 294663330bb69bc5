"""SQL database source for floe."""

from floe_dlt_source_sql_database.config import SqlDatabaseConfig
from floe_dlt_source_sql_database.source import SqlDatabaseSource

__all__ = ["SqlDatabaseConfig", "SqlDatabaseSource"]
