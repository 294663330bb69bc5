"""Source databases for the sql_database tests: SQLite files and the local PostgreSQL/MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from floe_testing.fixtures.databases import Database, SourceDb


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def source_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SourceDb]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'source.db'}", "sqlite", "source")
    elif request.param == "postgresql":
        db = request.getfixturevalue("postgres_db")
    else:
        db = request.getfixturevalue("mariadb_db")
    source = SourceDb(db)
    yield source
    source.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[SourceDb]:
    source = SourceDb(Database(f"sqlite:///{tmp_path / 'source.db'}", "sqlite", "source"))
    yield source
    source.dispose()
