"""The ``config:`` block of a ``sql_database`` source."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["DRIVERS", "ColumnOverride", "SqlDatabaseConfig"]

#: URL scheme -> (import name of the driver, package to install).
DRIVERS: dict[str, tuple[str, str]] = {
    "sqlite": ("sqlite3", "python (built in)"),
    "postgresql": ("psycopg2", "psycopg2-binary"),
    "postgresql+psycopg2": ("psycopg2", "psycopg2-binary"),
    "postgresql+psycopg": ("psycopg", "psycopg[binary]"),
    "mysql": ("pymysql", "pymysql"),
    "mysql+pymysql": ("pymysql", "pymysql"),
    "mariadb": ("pymysql", "pymysql"),
    "mariadb+pymysql": ("pymysql", "pymysql"),
}

Backend = Literal["connectorx", "pyarrow", "sqlalchemy", "pandas"]

_DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_OVERRIDE_TYPES = "text, bigint or decimal(P,S) with 1 <= P <= 38 and 0 <= S <= P"


class ColumnOverride(BaseModel):
    """How one column lands instead of floe's default for its type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(description=f"the Iceberg type: {_OVERRIDE_TYPES}")

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        text = value.strip().lower()
        if text in ("text", "bigint"):
            return text
        match = _DECIMAL.fullmatch(text)
        if match and 1 <= int(match[1]) <= 38 and int(match[2]) <= int(match[1]):
            return f"decimal({int(match[1])},{int(match[2])})"
        raise ValueError(f"must be {_OVERRIDE_TYPES} (got {value!r})")

    @property
    def decimal(self) -> tuple[int, int] | None:
        """(precision, scale) for a ``decimal(P,S)`` override."""
        match = _DECIMAL.fullmatch(self.type)
        return (int(match[1]), int(match[2])) if match else None


class SqlDatabaseConfig(BaseModel):
    """Which database and tables to read, and how."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    credentials: SecretStr = Field(description="SQLAlchemy URL, e.g. postgresql://user@host/db")
    tables: list[str] | Literal["all"] = "all"
    schema_name: str | None = Field(default=None, alias="schema")
    cursor_field: str | None = None
    initial_value: Any = None
    chunk_size: int = Field(default=100_000, ge=1, le=10_000_000)
    backend: Backend | None = Field(
        default=None,
        description="how rows are read; default: connectorx for PostgreSQL and MySQL/MariaDB, "
        "pyarrow for SQLite",
    )

    columns: dict[str, dict[str, ColumnOverride]] = Field(
        default_factory=dict,
        description="per table and column, the type to land instead of the default mapping",
    )
    zero_dates: Literal["fail", "as_null"] = Field(  # typemap.ZeroDates
        default="fail",
        description="MySQL/MariaDB dates with a zero part: fail the load (default) or land NULL",
    )

    @field_validator("credentials")
    @classmethod
    def _known_scheme(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme not in DRIVERS:
            raise ValueError(
                "must be a database URL starting with one of "
                + ", ".join(f"{s}://" for s in sorted(DRIVERS))
            )
        return value

    @field_validator("tables")
    @classmethod
    def _non_empty(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list) and not value:
            raise ValueError("list at least one table, or write 'all'")
        return value

    @property
    def scheme(self) -> str:
        return self.credentials.get_secret_value().split("://", 1)[0].lower()

    @property
    def effective_backend(self) -> Backend:
        """connectorx is the fastest reader, but on SQLite it infers column types from the
        values returned, so an empty incremental batch retypes columns; pyarrow builds Arrow
        from the reflected schema instead."""
        if self.backend is not None:
            return self.backend
        return "pyarrow" if self.scheme == "sqlite" else "connectorx"
