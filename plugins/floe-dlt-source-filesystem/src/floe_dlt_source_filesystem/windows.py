"""Time windows of a filesystem source: which files a window reads, and that their rows are in it.

A window reads the files modified in ``[start, end)``, or, with ``path_template``, the files whose
path the template gives for the window's dates (``events/{date:%Y-%m-%d}/*.parquet``). Its run
then replaces the table's rows whose ``partitions.column`` is in the window, so every row it reads
must be in the window too: a row outside it would be appended again by each rerun.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from floe_ingestion_dlt.errors import ErrorCategory, IngestionError, PipelineConfigurationError
from floe_ingestion_dlt.types import ColumnWindow, SourceContext

__all__ = [
    "inside_window",
    "modified_in",
    "template_glob",
    "template_unit",
    "window_files",
    "window_globs",
]

Unit = Literal["hour", "day", "month", "year"]
_UNITS: tuple[Unit, ...] = ("hour", "day", "month", "year")
#: strftime codes that fix each unit (the finest one present is the template's unit)
_CODES: dict[Unit, str] = {"hour": "HIk", "day": "dje", "month": "mbBh", "year": "Yy"}


def _fields(template: str) -> list[str]:
    """The template's ``{date:FORMAT}`` formats.

    Raises:
        ValueError: a field other than ``date``, a ``date`` without a format, or none at all.
    """
    formats = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"not a valid template ({exc}); write a literal brace as {{{{ or }}}}"
        ) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name != "date" or conversion or not spec:
            raise ValueError(
                f"{{{name}{'!' + conversion if conversion else ''}:{spec or ''}}}: the only field "
                "is {date:FORMAT}, FORMAT in strftime codes, e.g. {date:%Y-%m-%d}"
            )
        formats.append(spec)
    if not formats:
        raise ValueError("needs a {date:FORMAT} field, e.g. events/{date:%Y-%m-%d}/*.parquet")
    return formats


def template_unit(template: str) -> Unit:
    """How often the template's paths change: the finest date part it names."""
    codes = "".join(part[:1] for spec in _fields(template) for part in spec.split("%")[1:])
    for unit in _UNITS:
        if any(code in codes for code in _CODES[unit]):
            return unit
    raise ValueError("its {date:...} fields name no hour, day, month or year (%H, %d, %m, %Y, ...)")


def template_glob(template: str) -> str:
    """The glob of every file the template can give: each ``{date:...}`` field becomes ``*``
    (``*/*/*`` for ``{date:%Y/%m/%d}``: one per folder level it spans)."""
    _fields(template)
    pieces = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        pieces.append(literal)
        if name is not None:
            pieces.append("/".join("*" for _ in (spec or "").split("/")))
    return "".join(pieces)


def _floor(moment: datetime, unit: Unit) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    if unit == "hour":
        return moment
    moment = moment.replace(hour=0)
    if unit == "day":
        return moment
    return moment.replace(day=1) if unit == "month" else moment.replace(month=1, day=1)


def _next(moment: datetime, unit: Unit) -> datetime:
    if unit == "hour":
        return moment + timedelta(hours=1)
    if unit == "day":
        return moment + timedelta(days=1)
    if unit == "year":
        return moment.replace(year=moment.year + 1)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month)


def window_globs(template: str, window: ColumnWindow) -> list[str] | None:
    """The globs of the window's files: the template at each of its hours, days, months or
    years in the window. ``None`` when the template's paths span more than the window (a path
    holding a month cannot be split into days)."""
    unit = template_unit(template)
    moment, globs = window.start, []
    if _floor(moment, unit) != moment:
        return None
    while moment < window.end:
        globs.append(template.format(date=moment))
        moment = _next(moment, unit)
    if moment != window.end:
        return None
    return list(dict.fromkeys(globs))


def window_files(
    template: str, bucket_url: str, fs: Any, context: SourceContext, per_page: int
) -> Any:
    """A dlt resource listing the files ``template`` names for the window's dates, in pages
    of ``per_page`` (as dlt's ``filesystem`` resource lists one glob).

    Raises:
        PipelineConfigurationError: the template's paths span more than one window.
    """
    import dlt
    from floe_ingestion_dlt._dlt_adapter import openable_files

    window = context.window
    assert window is not None  # nosec B101  # narrows the type; checked upstream
    globs = window_globs(template, window)
    if globs is None:
        raise PipelineConfigurationError(
            f"source {context.source_name!r}: config.path_template: {template!r} names files "
            f"of a longer time than the window [{window.start:%Y-%m-%d %H:%M}, "
            f"{window.end:%Y-%m-%d %H:%M}): give it the window's finest date part (%d for "
            "days, %H for hours), or make partitions.every as long as its paths",
            source_type="filesystem",
        )

    @dlt.resource(name="window_files")
    def listed() -> Iterator[list[Any]]:
        page: list[Any] = []
        for glob in globs:
            for item in openable_files(fs, bucket_url, glob):
                page.append(item)
                if len(page) >= per_page:
                    yield page
                    page = []
        if page:
            yield page

    return listed()


def modified_in(window: ColumnWindow) -> Callable[[Any], bool]:
    """A filter of listed files: those modified in the window."""

    def keep(item: Any) -> bool:
        modified = _utc(item["modification_date"])
        return window.start <= modified < window.end

    return keep


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _moment(value: Any) -> datetime | None:
    """A date, a timestamp or ISO 8601 text as a UTC moment (naive means UTC); else None."""
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _moment(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _column(names: list[str], wanted: str) -> str | None:
    """The file's column that lands as ``wanted`` (names are compared as dlt normalizes them)."""
    from floe_ingestion_dlt._dlt_adapter import naming

    if wanted in names:
        return wanted
    normalize = naming().normalize_identifier
    return next((name for name in names if normalize(name) == normalize(wanted)), None)


def _refuse(file: str, window: ColumnWindow, detail: str) -> IngestionError:
    return IngestionError(
        f"{file}: partitions.column {window.column!r}: {detail}; a window run replaces the rows "
        f"whose {window.column} is in its window [{window.start:%Y-%m-%d %H:%M}, "
        f"{window.end:%Y-%m-%d %H:%M}) UTC, so every row it reads must be in it (select the "
        "window's files with config.path_template, or partition by a column of the files' "
        "dates)",
        source_type="filesystem",
        category=ErrorCategory.CONFIGURATION,
    )


def _check(values: list[Any], file: str, window: ColumnWindow) -> None:
    for value in values:
        if value is None:
            raise _refuse(file, window, "a row has no value there")
        moment = _moment(value)
        if moment is None:
            raise _refuse(file, window, f"{value!r} is not a date or a timestamp")
        if not window.start <= moment < window.end:
            raise _refuse(file, window, f"{value} is outside the window")


def inside_window(rows: Iterator[Any], window: ColumnWindow | None, file: str) -> Iterator[Any]:
    """``rows`` (Arrow batches or lists of records) of ``file``, each checked to have its
    partition column in ``window``; unchanged without a window.

    Raises:
        IngestionError: (configuration) the file lacks the column, or a row is outside the
            window or has no date there.
    """
    if window is None:
        yield from rows
        return
    for chunk in rows:
        if isinstance(chunk, list):
            found = {name for record in chunk for name in record}
            name = _column(sorted(found), window.column) if chunk else window.column
            if name is None:
                raise _refuse(file, window, "the file has no such column")
            _check([record.get(name) for record in chunk], file, window)
        else:
            name = _column(list(chunk.schema.names), window.column)
            if name is None:
                raise _refuse(file, window, "the file has no such column")
            _check(_extremes(chunk.column(name)), file, window)
        yield chunk


def _extremes(column: Any) -> list[Any]:
    """What decides whether an Arrow column is inside a window: its least and greatest value
    and a null if it has one; every value when it is text (each must parse)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return list(column.to_pylist())
    if not (pa.types.is_timestamp(column.type) or pa.types.is_date(column.type)):
        return [column[0].as_py()] if len(column) else []
    extremes = pc.min_max(column)
    found = [v for v in (extremes["min"].as_py(), extremes["max"].as_py()) if v is not None]
    return [*found, None] if column.null_count else found
