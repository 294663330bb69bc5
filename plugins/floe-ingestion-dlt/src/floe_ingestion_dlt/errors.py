"""The plugin's error taxonomy and how a failure is categorized for retry decisions."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from floe_core.errors import FloeConfigError, FloeError

__all__ = [
    "AuditFailedError",
    "DestinationWriteError",
    "ErrorCategory",
    "IngestionError",
    "MaintenanceError",
    "PipelineConfigurationError",
    "SchemaContractViolation",
    "SourceConnectionError",
    "SourceDataError",
    "SourceNotInstalledError",
    "categorize_error",
    "root_cause",
]


class ErrorCategory(StrEnum):
    """What a failure means for the caller: retry, give up, inspect, or fix the config."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    PARTIAL = "partial"
    CONFIGURATION = "configuration"
    #: the load's data failed an error check: fix the source (or the check) and run again
    AUDIT = "audit"


class IngestionError(FloeError):
    """A source failed to load; carries where it happened."""

    category: ErrorCategory = ErrorCategory.PERMANENT

    def __init__(
        self,
        message: str,
        *,
        source_type: str = "",
        destination_table: str = "",
        pipeline_name: str = "",
        category: ErrorCategory | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source_type = source_type
        self.destination_table = destination_table
        self.pipeline_name = pipeline_name
        if category is not None:
            self.category = category


class SourceConnectionError(IngestionError):
    """The source could not be reached or answered with an error."""


class SourceDataError(IngestionError):
    """The source answered but its data cannot be read (a malformed file or record)."""

    category = ErrorCategory.PERMANENT


class DestinationWriteError(IngestionError):
    """Writing to the Iceberg catalog or storage failed."""


class AuditFailedError(IngestionError):
    """Loaded data failed an error check; the message has one line per failed check."""

    category = ErrorCategory.AUDIT
    results: tuple[Any, ...] = ()  # every CheckResult of the audit, passed ones included


class SchemaContractViolation(IngestionError):  # noqa: N818 - contract name
    """Incoming data does not fit the table under the configured schema contract."""


class MaintenanceError(IngestionError):
    """Maintaining a table failed; what it had committed before stays, nothing is half-done."""

    report: Any = None  # the MaintenanceReport of the steps done before the failure, if known

    @classmethod
    def caused_by(cls, table: str, exc: BaseException, step: str = "") -> MaintenanceError:
        """``exc`` as a categorized one-line error naming the table (and the step that failed)."""
        detail = next(iter(str(exc).splitlines()), "")
        where = f"{table}: {step} failed" if step else table
        return cls(
            f"maintaining {where}: {type(exc).__name__}: {detail}".rstrip(": "),
            destination_table=table,
            category=categorize_error(exc),
        )


class PipelineConfigurationError(IngestionError, FloeConfigError):
    """The source or destination configuration is invalid (a ``FloeConfigError`` too, so
    callers that report configuration errors need not know the plugin's classes)."""

    category = ErrorCategory.CONFIGURATION


class SourceNotInstalledError(PipelineConfigurationError):
    """``type:`` names a source type no installed package provides."""

    def __init__(self, source_type: str, installed: list[str]) -> None:
        self.distribution = f"floe-dlt-source-{source_type.replace('_', '-')}"
        super().__init__(
            f"source type {source_type!r} is not installed: pip install {self.distribution} "
            f"(installed source types: {', '.join(sorted(installed)) or 'none'})",
            source_type=source_type,
        )


_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
_PERMANENT_STATUS = {401, 403}
_CONFIGURATION_STATUS = {400, 404, 405, 410, 422}

# PostgreSQL SQLSTATEs (errcodes appendix): authentication/authorization is permanent; a missing
# database, schema, table or column is configuration; connection, resource, operator-intervention
# and serialization classes are transient.
_PG_PERMANENT = {"28000", "28P01", "42501"}
_PG_CONFIGURATION = {"3D000", "3F000", "42P01", "42703"}
_PG_TRANSIENT_CLASSES = ("08", "40", "53", "57")
# MySQL/MariaDB server error numbers (1xxx) and client error numbers (2xxx).
_MYSQL_PERMANENT = {1044, 1045, 1142, 1143, 1227, 1698}  # access denied (user, db, table, ...)
_MYSQL_CONFIGURATION = {1049, 1054, 1146}  # unknown database, column, table
_MYSQL_TRANSIENT = {1040, 1205, 1213, 2002, 2003, 2006, 2013}
_MYSQL_DRIVERS = ("pymysql", "MySQLdb", "mysql")
# libpq reports a server's refusal of a login without its SQLSTATE (there is no result to carry
# it), only the server's message after "FATAL:". The refusals that a retry cannot change, by the
# server's message (English, the default ``lc_messages``; other languages stay transient):
_PG_LOGIN_REFUSALS = (  # (start, end, category) of the message
    ("password authentication failed for user", "", ErrorCategory.PERMANENT),  # 28P01
    ('role "', "does not exist", ErrorCategory.PERMANENT),  # 28000
    ('role "', "is not permitted to log in", ErrorCategory.PERMANENT),  # 28000
    ("no pg_hba.conf entry", "", ErrorCategory.PERMANENT),  # 28000
    ("permission denied for database", "", ErrorCategory.PERMANENT),  # 42501
    ('database "', "does not exist", ErrorCategory.CONFIGURATION),  # 3D000
)
_PG_DRIVERS = ("psycopg2", "psycopg")


def root_cause(exc: BaseException) -> BaseException:
    """Unwrap dlt's ``PipelineStepFailed``, job and resource-extraction wrappers."""
    from dlt.common.destination.exceptions import DestinationTerminalException
    from dlt.extract.exceptions import ResourceExtractionError
    from dlt.load.exceptions import LoadClientJobException
    from dlt.pipeline.exceptions import PipelineStepFailed

    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, PipelineStepFailed):
            exc = exc.exception
        elif isinstance(exc, LoadClientJobException) and exc.client_exception is not None:
            exc = exc.client_exception
        elif isinstance(exc, ResourceExtractionError) and exc.__cause__ is not None:
            exc = exc.__cause__
        elif type(exc) is DestinationTerminalException and exc.__cause__ is not None:
            exc = exc.__cause__  # a job's plain "do not retry" marker around the real error
        else:
            break
    return exc


def _http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE a PostgreSQL driver attached (psycopg2 ``pgcode``, psycopg ``sqlstate``)."""
    for name in ("pgcode", "sqlstate"):
        code = getattr(exc, name, None)
        if isinstance(code, str) and len(code) == 5:
            return code
    return None


def _mysql_errno(exc: BaseException) -> int | None:
    """The error number a MySQL/MariaDB driver puts first in its exception's arguments."""
    if type(exc).__module__.split(".", 1)[0] not in _MYSQL_DRIVERS:
        return None
    code = exc.args[0] if exc.args else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _pg_login_refusal(exc: BaseException) -> ErrorCategory | None:
    """A PostgreSQL login refused for good (unknown role or database, wrong password), told
    apart from an unreachable or busy server by the server's FATAL message (see
    ``_PG_LOGIN_REFUSALS``)."""
    if type(exc).__module__.split(".", 1)[0] not in _PG_DRIVERS:
        return None
    _, fatal, message = str(exc).partition("FATAL:")
    if not fatal:
        return None
    message = (message.strip().splitlines() or [""])[0]
    for start, end, category in _PG_LOGIN_REFUSALS:
        if message.startswith(start) and message.endswith(end):
            return category
    return None


def _database_category(exc: BaseException) -> ErrorCategory | None:
    """Categorize a database driver's error by its code; ``None`` when it carries none."""
    from sqlalchemy import exc as sa_exc

    driver_error = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    if driver_error is None:
        return None
    errno = _mysql_errno(driver_error)  # MySQL drivers also set a (coarser) ``sqlstate``
    if errno is not None:
        if errno in _MYSQL_PERMANENT:
            return ErrorCategory.PERMANENT
        if errno in _MYSQL_CONFIGURATION:
            return ErrorCategory.CONFIGURATION
        if errno in _MYSQL_TRANSIENT:
            return ErrorCategory.TRANSIENT
        return None
    sqlstate = _sqlstate(driver_error)
    if sqlstate is not None:
        if sqlstate in _PG_PERMANENT:
            return ErrorCategory.PERMANENT
        if sqlstate in _PG_CONFIGURATION:
            return ErrorCategory.CONFIGURATION
        if sqlstate.startswith(_PG_TRANSIENT_CLASSES):
            return ErrorCategory.TRANSIENT
        return None
    return _pg_login_refusal(driver_error)


def _categorize_one(exc: BaseException) -> ErrorCategory | None:
    import requests
    from dlt.common.exceptions import TerminalException, TransientException
    from dlt.common.schema.exceptions import DataValidationError
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, IngestionError):
        return exc.category
    status = _http_status(exc)
    if status is not None:
        if status in _TRANSIENT_STATUS or status >= 500:
            return ErrorCategory.TRANSIENT
        if status in _PERMANENT_STATUS:
            return ErrorCategory.PERMANENT
        if status in _CONFIGURATION_STATUS:
            return ErrorCategory.CONFIGURATION
        return ErrorCategory.PERMANENT
    if isinstance(exc, (requests.Timeout, requests.ConnectionError, TimeoutError, ConnectionError)):
        return ErrorCategory.TRANSIENT
    database = _database_category(exc)
    if database is not None:
        return database
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError, sa_exc.OperationalError)):
        return ErrorCategory.TRANSIENT
    # InvalidRequestError: reflecting a table the database does not have (NoSuchTableError, or
    # the plain class when several are reflected at once)
    if isinstance(exc, (sa_exc.InvalidRequestError, sa_exc.ArgumentError, sa_exc.ProgrammingError)):
        return ErrorCategory.CONFIGURATION
    if isinstance(exc, DataValidationError):
        return ErrorCategory.PERMANENT
    if isinstance(exc, TransientException):
        return ErrorCategory.TRANSIENT
    if isinstance(exc, TerminalException):
        return ErrorCategory.PERMANENT
    return None


def categorize_error(exc: BaseException) -> ErrorCategory:
    """Categorize by exception type, HTTP status and database error code, following causes;
    by message text only for PostgreSQL login refusals, which libpq reports without a code.

    A failure that is not transient after part of a load package was committed is PARTIAL.
    """
    from dlt.pipeline.exceptions import PipelineStepFailed

    category = ErrorCategory.PERMANENT
    current: BaseException | None = root_cause(exc)
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _categorize_one(current)
        if found is not None:
            category = found
            break
        current = current.__cause__ or current.__context__
    if (
        category not in (ErrorCategory.TRANSIENT, ErrorCategory.AUDIT)
        and isinstance(exc, PipelineStepFailed)
        and exc.is_package_partially_loaded
        and _user_table_committed(exc)
    ):
        return ErrorCategory.PARTIAL
    return category


def _user_table_committed(exc: BaseException) -> bool:
    """Did a job writing a user table complete before the failure?

    Table-format writes happen in dlt's ``reference`` follow-up jobs (one per table and load,
    committed atomically); completed file jobs and dlt's own tables do not change user tables.
    """
    packages = getattr(getattr(exc, "step_info", None), "load_packages", None)
    if not packages:
        return True  # cannot tell: assume the worst
    return any(
        job.job_file_info.file_format == "reference"
        and not job.job_file_info.table_name.startswith("_dlt")
        for package in packages
        for job in package.jobs.get("completed_jobs", [])
    )
