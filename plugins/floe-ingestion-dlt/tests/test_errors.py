"""categorize_error decides by exception type and HTTP status, through dlt's wrappers."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from floe_ingestion_dlt import (
    ErrorCategory,
    PipelineConfigurationError,
    SourceConnectionError,
    categorize_error,
)
from sqlalchemy import exc as sa_exc


def http_error(status: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response.url = "http://127.0.0.1/items"
    return requests.HTTPError(f"{status} error", response=response)


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (429, ErrorCategory.TRANSIENT),
        (503, ErrorCategory.TRANSIENT),
        (502, ErrorCategory.TRANSIENT),
        (500, ErrorCategory.TRANSIENT),
        (401, ErrorCategory.PERMANENT),
        (403, ErrorCategory.PERMANENT),
        (400, ErrorCategory.CONFIGURATION),
        (404, ErrorCategory.CONFIGURATION),
        (418, ErrorCategory.PERMANENT),
    ],
)
def test_http_status(status: int, category: ErrorCategory) -> None:
    assert categorize_error(http_error(status)) is category


@pytest.mark.parametrize(
    "exc",
    [
        requests.Timeout("read timed out"),
        requests.ConnectionError("refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        sa_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
    ],
)
def test_transient_failures(exc: Exception) -> None:
    assert categorize_error(exc) is ErrorCategory.TRANSIENT


def test_configuration_and_permanent() -> None:
    assert categorize_error(sa_exc.NoSuchTableError("missing")) is ErrorCategory.CONFIGURATION
    assert categorize_error(PipelineConfigurationError("bad")) is ErrorCategory.CONFIGURATION
    assert categorize_error(ValueError("boom")) is ErrorCategory.PERMANENT
    assert (
        categorize_error(SourceConnectionError("x", category=ErrorCategory.TRANSIENT))
        is ErrorCategory.TRANSIENT
    )


def test_message_text_is_never_used() -> None:
    assert categorize_error(ValueError("HTTP 429 Too Many Requests, timeout")) is (
        ErrorCategory.PERMANENT
    )


def test_causes_are_followed() -> None:
    outer = RuntimeError("wrapped")
    outer.__cause__ = http_error(503)
    assert categorize_error(outer) is ErrorCategory.TRANSIENT


def test_unwraps_pipeline_step_failed(tmp_path: Path) -> None:
    import dlt
    from dlt.pipeline.exceptions import PipelineStepFailed

    pipeline = dlt.pipeline("errors_test", pipelines_dir=str(tmp_path))
    for inner, category in [
        (http_error(401), ErrorCategory.PERMANENT),
        (http_error(429), ErrorCategory.TRANSIENT),
        (http_error(404), ErrorCategory.CONFIGURATION),
    ]:
        wrapped = PipelineStepFailed(pipeline, "extract", None, inner)  # type: ignore[arg-type]
        assert categorize_error(wrapped) is category


def test_secrets_nested_anywhere_in_a_config_are_redacted() -> None:
    from floe_ingestion_dlt.loading import redact, secret_values
    from pydantic import BaseModel, SecretStr

    class Auth(BaseModel):
        token: SecretStr

    class Config(BaseModel):
        url: SecretStr
        auth: Auth
        headers: dict[str, SecretStr]

    config = Config(
        url=SecretStr("postgresql://u:pa55word@h/db"),
        auth=Auth(token=SecretStr("tok-123")),
        headers={"X-Key": SecretStr("hdr-456")},
    )
    text = "failed with tok-123 and hdr-456 for postgresql://u:pa55word@h/db, pw pa55word"
    assert redact(text, secret_values(config)) == "failed with *** and *** for ***, pw ***"


@pytest.mark.parametrize(
    ("errno", "category"),
    [
        (1045, ErrorCategory.PERMANENT),  # access denied: wrong password or unknown user
        (1044, ErrorCategory.PERMANENT),  # access denied to the database
        (1698, ErrorCategory.PERMANENT),
        (1142, ErrorCategory.PERMANENT),  # table access denied
        (1049, ErrorCategory.CONFIGURATION),  # unknown database
        (1146, ErrorCategory.CONFIGURATION),  # table does not exist
        (2003, ErrorCategory.TRANSIENT),  # cannot connect
        (2013, ErrorCategory.TRANSIENT),  # lost connection
        (1213, ErrorCategory.TRANSIENT),  # deadlock
    ],
)
def test_mysql_errors_by_number(errno: int, category: ErrorCategory) -> None:
    import pymysql

    driver = pymysql.err.OperationalError(errno, "any text")
    wrapped = sa_exc.OperationalError("SELECT 1", {}, driver)
    assert categorize_error(wrapped) is category
    assert categorize_error(driver) is category


def test_a_driver_error_without_a_code_keeps_the_class_rule() -> None:
    import pymysql

    driver = pymysql.err.OperationalError("no number")
    assert categorize_error(sa_exc.OperationalError("x", {}, driver)) is ErrorCategory.TRANSIENT
    assert categorize_error(sa_exc.InvalidRequestError("no such table")) is (
        ErrorCategory.CONFIGURATION
    )


@pytest.mark.parametrize(
    ("server_message", "category"),
    [
        ('password authentication failed for user "app"', ErrorCategory.PERMANENT),
        ('role "app" does not exist', ErrorCategory.PERMANENT),
        (
            'no pg_hba.conf entry for host "10.0.0.9", user "app", database "db", no encryption',
            ErrorCategory.PERMANENT,
        ),
        ('role "app" is not permitted to log in', ErrorCategory.PERMANENT),
        ('permission denied for database "db"', ErrorCategory.PERMANENT),
        ('database "dbx" does not exist', ErrorCategory.CONFIGURATION),
        ("sorry, too many clients already", ErrorCategory.TRANSIENT),
        ("the database system is starting up", ErrorCategory.TRANSIENT),
    ],
)
def test_postgres_login_refusals_by_the_servers_message(
    server_message: str, category: ErrorCategory
) -> None:
    """libpq gives a refused login no SQLSTATE: only the server's FATAL message tells a wrong
    password from a busy server."""
    import psycopg2

    driver = psycopg2.OperationalError(
        f'connection to server at "127.0.0.1", port 5432 failed: FATAL:  {server_message}\n'
    )
    assert categorize_error(sa_exc.OperationalError("connect", {}, driver)) is category


def test_postgres_unreachable_stays_transient() -> None:
    import psycopg2

    driver = psycopg2.OperationalError(
        'connection to server at "127.0.0.1", port 5439 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?\n"
    )
    assert categorize_error(sa_exc.OperationalError("connect", {}, driver)) is (
        ErrorCategory.TRANSIENT
    )
