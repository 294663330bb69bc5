"""Table layout written in floe.yaml: ``partition_by`` transforms and ``sort_by`` terms.

``partition_by``: ``col`` (identity), ``year(col)``, ``month(col)``, ``day(col)``, ``hour(col)``,
``bucket(N, col)``, ``truncate(W, col)``. ``sort_by``: ``col``, ``col desc``, ``col asc nulls
last``. Parsed here once, so floe.yaml's errors name the field and the destination gets typed terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["PartitionTerm", "SortTerm", "TableLayout", "parse_partition", "parse_sort"]

_COLUMN = r"[A-Za-z_][A-Za-z0-9_]*"
_PARTITION = re.compile(
    rf"^\s*(?:(?P<column>{_COLUMN})"
    rf"|(?P<time>year|month|day|hour)\(\s*(?P<time_column>{_COLUMN})\s*\)"
    rf"|(?P<sized>bucket|truncate)\(\s*(?P<size>[1-9][0-9]*)\s*,\s*(?P<sized_column>{_COLUMN})\s*\))"
    r"\s*$"
)
_SORT = re.compile(
    rf"^\s*(?P<column>{_COLUMN})(?:\s+(?P<direction>asc|desc))?"
    r"(?:\s+nulls\s+(?P<nulls>first|last))?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PartitionTerm:
    column: str
    transform: Literal["identity", "year", "month", "day", "hour", "bucket", "truncate"]
    size: int | None = None  # bucket count or truncate width


@dataclass(frozen=True)
class SortTerm:
    column: str
    descending: bool = False
    nulls_first: bool | None = None  # None: Iceberg's default for the direction


def parse_partition(text: str) -> PartitionTerm:
    """One ``partition_by`` entry.

    Raises:
        ValueError: one line saying what is accepted.
    """
    match = _PARTITION.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a partition transform: write col, year|month|day|hour(col), "
            "bucket(N, col) or truncate(W, col)"
        )
    if match["column"]:
        return PartitionTerm(match["column"], "identity")
    if match["time"]:
        return PartitionTerm(match["time_column"], match["time"])  # type: ignore[arg-type]
    return PartitionTerm(match["sized_column"], match["sized"], int(match["size"]))  # type: ignore[arg-type]


def parse_sort(text: str) -> SortTerm:
    """One ``sort_by`` entry.

    Raises:
        ValueError: one line saying what is accepted.
    """
    match = _SORT.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a sort term: write col, col desc or col asc nulls first|last"
        )
    nulls = match["nulls"]
    return SortTerm(
        match["column"],
        descending=(match["direction"] or "asc").lower() == "desc",
        nulls_first=None if nulls is None else nulls.lower() == "first",
    )


@dataclass(frozen=True)
class TableLayout:
    """A table's declared partitioning and sort order."""

    partition_by: tuple[PartitionTerm, ...] = ()
    sort_by: tuple[SortTerm, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.partition_by or self.sort_by)

    @classmethod
    def parse(cls, partition_by: list[str], sort_by: list[str]) -> TableLayout:
        return cls(
            tuple(parse_partition(p) for p in partition_by), tuple(parse_sort(s) for s in sort_by)
        )
