"""SQL database source for floe."""

from floe_dlt_source_sql_database.config import ColumnOverride, SqlDatabaseConfig
from floe_dlt_source_sql_database.errors import InexactValueError
from floe_dlt_source_sql_database.source import SqlDatabaseSource

__all__ = ["ColumnOverride", "InexactValueError", "SqlDatabaseConfig", "SqlDatabaseSource"]
