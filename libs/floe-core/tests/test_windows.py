"""Time windows name the same periods as Dagster's time-window partitions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from floe_core.windows import Every, parse_key, window_at, windows_between


def _utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "every", "start", "end", "name"),
    [
        ("2024-03-01", "day", _utc(2024, 3, 1), _utc(2024, 3, 2), "2024-03-01"),
        ("2024-03-01-05:00", "hour", _utc(2024, 3, 1, 5), _utc(2024, 3, 1, 6), "2024-03-01-05:00"),
        ("2024-03-15", "month", _utc(2024, 3, 1), _utc(2024, 4, 1), "2024-03-01"),
        ("2024-12-31", "month", _utc(2024, 12, 1), _utc(2025, 1, 1), "2024-12-01"),
        ("2024-03-06", "week", _utc(2024, 3, 3), _utc(2024, 3, 10), "2024-03-03"),  # Sunday
    ],
)
def test_a_key_names_its_window(
    key: str, every: Every, start: datetime, end: datetime, name: str
) -> None:
    window = window_at(key, every)
    assert (window.start, window.end, window.key) == (start, end, name)


def test_windows_between_cover_the_range_once() -> None:
    windows = list(windows_between("2024-01-15", "2024-04-01", "month"))
    assert [w.key for w in windows] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))


def test_a_key_that_is_no_date_is_refused() -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_key("March")
