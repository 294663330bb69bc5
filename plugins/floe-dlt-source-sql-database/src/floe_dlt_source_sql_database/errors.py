"""The error a value raises when it cannot land exactly."""

from __future__ import annotations

from floe_ingestion_dlt.errors import SourceDataError

__all__ = ["InexactValueError"]

_SHOWN = 40


class InexactValueError(SourceDataError):
    """A column holds a value its Iceberg type cannot hold exactly; the table's load fails."""

    def __init__(self, table: str, column: str, value: object, problem: str, fix: str) -> None:
        shown = repr(value) if len(repr(value)) <= _SHOWN else repr(value)[:_SHOWN] + "..."
        super().__init__(
            f"table {table}, column {column}: {shown} {problem}; {fix}",
            source_type="sql_database",
        )
        self.table = table
        self.column = column
