"""Errors as a user expects them from a SQL source, against the real MariaDB and PostgreSQL
servers on 127.0.0.1: refused credentials are permanent and not retried, a missing database or
table is configuration, and ``floe ingest check`` names the tables that do not exist."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import yaml
from floe_core.health import HealthState
from floe_ingestion_dlt import ErrorCategory, IngestionError
from floe_testing.fixtures.databases import Database, SourceDb
from floe_testing.fixtures.ingestion import FloeProject
from structlog.testing import capture_logs

#: floe retries a transient failure after 5 s: a failure that returns sooner was not retried
RETRY = {"max_retries": 1, "initial_delay_seconds": 5}


@dataclass(frozen=True)
class Run:
    error: IngestionError
    seconds: float
    retries: int


def write(project: FloeProject, url: str, tables: list[str], **config: str) -> None:
    source = {
        "name": "db",
        "type": "sql_database",
        "config": {"credentials": url, "tables": tables, **config},
        "destination": {"namespace": "bronze"},
    }
    document = {"retry": RETRY, "ingestion": {"sources": [source]}}
    project.write(yaml.safe_dump(document, sort_keys=False))


def fail(project: FloeProject) -> Run:
    started = time.monotonic()
    with capture_logs() as logs, pytest.raises(IngestionError) as caught:
        project.run()
    retries = sum(1 for event in logs if event["event"] == "pipeline_retrying")
    return Run(caught.value, time.monotonic() - started, retries)


def check(project: FloeProject) -> tuple[HealthState, str]:
    plugin = project.plugin()
    status = plugin.check_source(plugin.config.sources[0])
    return status.state, status.message


def with_user(url: str, user: str, password: str = "") -> str:
    parts = urlsplit(url)
    login = f"{user}:{password}" if password else user
    return parts._replace(netloc=f"{login}@{parts.hostname}:{parts.port}").geturl()


def with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


# --- MariaDB ----------------------------------------------------------------------------------


@pytest.fixture
def maria(mariadb_db: Database) -> Iterator[SourceDb]:
    db = SourceDb(mariadb_db)
    db.execute(
        f"CREATE TABLE {db.table} (id INTEGER PRIMARY KEY)", f"INSERT INTO {db.table} VALUES (1)"
    )
    yield db
    db.execute(f"DROP TABLE IF EXISTS {db.table}")
    db.dispose()


@pytest.fixture
def maria_user(maria: SourceDb) -> Iterator[str]:
    """A MariaDB user with the password ``right`` who may read the test database."""
    user = f"floe_{uuid.uuid4().hex[:8]}"
    maria.execute(
        f"CREATE USER '{user}'@'%' IDENTIFIED BY 'right'",
        f"GRANT SELECT ON `{maria.db.name}`.* TO '{user}'@'%'",
    )
    yield user
    maria.execute(f"DROP USER IF EXISTS '{user}'@'%'")


def test_mariadb_wrong_password_is_permanent_and_not_retried(
    floe_project: FloeProject, maria: SourceDb, maria_user: str
) -> None:
    write(floe_project, with_user(maria.url, maria_user, "right"), [maria.table])
    assert floe_project.run().rows_loaded == 1  # the user works with its password

    write(floe_project, with_user(maria.url, maria_user, "wrong"), [maria.table])
    run = fail(floe_project)

    assert run.error.category is ErrorCategory.PERMANENT
    assert run.retries == 0
    message = str(run.error)
    assert message.startswith("source 'db' (sql_database) -> bronze.*: extract failed: ")
    assert "(1045, " in message
    assert "wrong" not in message.replace(f"'{maria_user}'", "")


def test_mariadb_unknown_user_is_permanent(floe_project: FloeProject, maria: SourceDb) -> None:
    write(floe_project, with_user(maria.url, "floe_nobody", "pw"), [maria.table])

    run = fail(floe_project)

    assert run.error.category is ErrorCategory.PERMANENT
    assert run.retries == 0


def test_mariadb_unknown_database_is_configuration(
    floe_project: FloeProject, maria: SourceDb
) -> None:
    write(floe_project, with_database(maria.url, "floe_no_such_db"), [maria.table])

    run = fail(floe_project)

    assert run.error.category is ErrorCategory.CONFIGURATION
    assert run.retries == 0
    assert "(1049, " in str(run.error)


def test_mariadb_missing_table_is_configuration_and_check_names_it(
    floe_project: FloeProject, maria: SourceDb
) -> None:
    write(floe_project, maria.url, [maria.table, "no_such_table"])

    run = fail(floe_project)
    state, message = check(floe_project)

    assert run.error.category is ErrorCategory.CONFIGURATION
    assert run.retries == 0
    assert state is HealthState.UNHEALTHY
    assert message == "config.tables: the database has no table 'no_such_table'"


def test_mariadb_check_reports_a_refused_password(
    floe_project: FloeProject, maria: SourceDb, maria_user: str
) -> None:
    write(floe_project, with_user(maria.url, maria_user, "right"), [maria.table])
    good = check(floe_project)
    write(floe_project, with_user(maria.url, maria_user, "wrong"), [maria.table])
    state, message = check(floe_project)

    assert good == (HealthState.HEALTHY, f"mysql: tables {maria.table} exist")
    assert state is HealthState.UNHEALTHY
    assert message.startswith("mysql database: OperationalError: (1045, ")
    assert message.endswith("(permanent)")


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def pg(postgres_db: Database) -> Iterator[SourceDb]:
    db = SourceDb(postgres_db)
    db.execute(
        f"CREATE TABLE {db.table} (id INTEGER PRIMARY KEY)", f"INSERT INTO {db.table} VALUES (1)"
    )
    yield db
    db.execute(f"DROP TABLE IF EXISTS {db.table}")
    db.dispose()


@pytest.fixture
def pg_reader(pg: SourceDb) -> Iterator[str]:
    """A PostgreSQL role that may log in (trust on 127.0.0.1) but not read the test table."""
    role = f"floe_{uuid.uuid4().hex[:8]}"
    pg.execute(f'CREATE ROLE "{role}" LOGIN', f"REVOKE ALL ON {pg.table} FROM PUBLIC")
    yield role
    pg.execute(f'DROP OWNED BY "{role}"', f'DROP ROLE IF EXISTS "{role}"')


def test_postgres_missing_table_is_configuration_and_check_names_it(
    floe_project: FloeProject, pg: SourceDb
) -> None:
    write(floe_project, pg.url, ["no_such_table", pg.table, "other_missing"])

    run = fail(floe_project)
    state, message = check(floe_project)

    assert run.error.category is ErrorCategory.CONFIGURATION
    assert run.retries == 0
    assert state is HealthState.UNHEALTHY
    assert message == "config.tables: the database has no tables 'no_such_table', 'other_missing'"


def test_postgres_permission_denied_is_permanent_and_not_retried(
    floe_project: FloeProject, pg: SourceDb, pg_reader: str
) -> None:
    # SQLSTATE 42501 (insufficient_privilege) when the role reads a table it was not granted
    write(floe_project, with_user(pg.url, pg_reader), [pg.table], backend="sqlalchemy")

    run = fail(floe_project)

    assert run.error.category is ErrorCategory.PERMANENT
    assert run.retries == 0
    assert "InsufficientPrivilege" in str(run.error)


def test_postgres_unknown_role_is_permanent_and_not_retried(
    floe_project: FloeProject, pg: SourceDb
) -> None:
    write(floe_project, with_user(pg.url, "floe_nobody"), [pg.table])

    run = fail(floe_project)

    assert run.error.category is ErrorCategory.PERMANENT
    assert run.retries == 0
    assert 'role "floe_nobody" does not exist' in str(run.error)


def test_postgres_unknown_database_is_configuration(
    floe_project: FloeProject, pg: SourceDb
) -> None:
    write(floe_project, with_database(pg.url, "floe_no_such_db"), [pg.table])

    run = fail(floe_project)

    assert run.error.category is ErrorCategory.CONFIGURATION
    assert run.retries == 0
    assert 'database "floe_no_such_db" does not exist' in str(run.error)


def test_postgres_check_of_existing_tables_is_healthy(
    floe_project: FloeProject, pg: SourceDb
) -> None:
    write(floe_project, pg.url, [pg.table])

    assert check(floe_project) == (HealthState.HEALTHY, f"postgresql: tables {pg.table} exist")
