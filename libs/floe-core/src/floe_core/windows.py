"""Time windows of a partitioned source: ``[start, end)`` of one hour, day, week or month.

A window's key is what Dagster's time-window partitions call it (``2024-03-01`` for days, weeks
and months, ``2024-03-01-05:00`` for hours), so ``floe ingest run --partition`` and a Dagster
partition run name the same window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

__all__ = ["Every", "TimeWindow", "parse_key", "window_at", "windows_between"]

Every = Literal["hour", "day", "week", "month"]


@dataclass(frozen=True)
class TimeWindow:
    """Rows whose partition column is in ``[start, end)``; both UTC."""

    start: datetime
    end: datetime
    every: Every

    @property
    def digits(self) -> str:
        """The key's digits (``2024030105``), for names that take no punctuation."""
        return "".join(c for c in self.key if c.isdigit())

    @property
    def key(self) -> str:
        if self.every == "hour":
            return self.start.strftime("%Y-%m-%d-%H:%M")
        return self.start.strftime("%Y-%m-%d")


def _as_utc(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _floor(moment: datetime, every: Every) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    if every == "hour":
        return moment
    moment = moment.replace(hour=0)
    if every == "week":  # Dagster's weekly partitions start on Sunday
        return moment - timedelta(days=(moment.weekday() + 1) % 7)
    if every == "month":
        return moment.replace(day=1)
    return moment


def _next(start: datetime, every: Every) -> datetime:
    if every == "hour":
        return start + timedelta(hours=1)
    if every == "day":
        return start + timedelta(days=1)
    if every == "week":
        return start + timedelta(weeks=1)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month)


def parse_key(key: str) -> datetime:
    """``2024-03-01`` or ``2024-03-01-05:00`` (or an ISO date-time) as a UTC moment.

    Raises:
        ValueError: ``key`` is not a date or date-time.
    """
    text = key.strip()
    if len(text) == 16 and text[10] == "-":  # Dagster's hourly key
        text = f"{text[:10]}T{text[11:]}"
    return _as_utc(datetime.fromisoformat(text))


def window_at(key: str, every: Every) -> TimeWindow:
    """The window a partition key names (any moment inside it names it too)."""
    start = _floor(parse_key(key), every)
    return TimeWindow(start, _next(start, every), every)


def windows_between(start: str, end: str, every: Every) -> Iterator[TimeWindow]:
    """Every window from the one holding ``start`` up to, not including, ``end``'s moment."""
    stop = parse_key(end)
    window = window_at(start, every)
    while window.start < stop:
        yield window
        window = TimeWindow(window.end, _next(window.end, every), every)
