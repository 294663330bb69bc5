"""What the engine tells its caller while a source loads: typed progress events.

The CLI renders them as a live display; Dagster logs them. They come from dlt's progress
collector (a public extension point), so no dlt log line is parsed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from floe_ingestion_dlt._dlt_adapter import Collector

if TYPE_CHECKING:
    from floe_ingestion_dlt.engine import LoadOutcome

__all__ = [
    "EventSink",
    "LoadEvent",
    "SourceFinished",
    "SourceStarted",
    "StepStarted",
    "TableProgress",
    "progress_collector",
]


@dataclass(frozen=True)
class SourceStarted:
    source: str
    source_type: str
    target: str


@dataclass(frozen=True)
class StepStarted:
    """dlt moved on to ``step`` (``extract``, ``normalize``, ``load``)."""

    source: str
    step: str


@dataclass(frozen=True)
class TableProgress:
    """Rows of ``table`` read from the source so far; ``total`` when the source can tell."""

    source: str
    table: str
    rows: int
    total: int | None
    elapsed_seconds: float


@dataclass(frozen=True)
class SourceFinished:
    outcome: LoadOutcome


LoadEvent = SourceStarted | StepStarted | TableProgress | SourceFinished
EventSink = Callable[[LoadEvent], None]

#: dlt's own counters of the extract step that are not tables
_NOT_TABLES = frozenset({"Resources"})


class _EventCollector(Collector):
    """dlt's progress collector turned into :class:`LoadEvent`s for one source."""

    def __init__(self, source: str, sink: EventSink, totals: dict[str, int] | None) -> None:
        self.step = ""
        self._step = ""
        self._source = source
        self._sink = sink
        self._totals = totals if totals is not None else {}  # may be filled in later
        self._rows: dict[str, int] = {}
        self._started = time.perf_counter()

    def update(
        self,
        name: str,
        inc: int = 1,
        total: int | None = None,
        inc_total: int | None = None,
        message: str | None = None,
        label: str | None = None,
    ) -> None:
        if self._step != "extract" or name in _NOT_TABLES or name.startswith("_dlt") or label:
            return
        rows = self._rows[name] = self._rows.get(name, 0) + inc
        self._sink(
            TableProgress(
                source=self._source,
                table=name,
                rows=rows,
                total=self._totals.get(name),
                elapsed_seconds=time.perf_counter() - self._started,
            )
        )

    def _start(self, step: str) -> None:
        name = step.split(" ", 1)[0].lower()
        if name != self._step:
            self._step = name
            self._started = time.perf_counter()
            self._sink(StepStarted(self._source, name))

    def _stop(self) -> None:
        pass


def progress_collector(source: str, sink: EventSink, totals: dict[str, int] | None = None) -> Any:
    """A dlt progress collector that sends ``source``'s progress to ``sink``."""
    return _EventCollector(source, sink, totals)
