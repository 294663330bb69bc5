"""The engine's progress events on the terminal: a live line per table, or plain lines.

On a terminal each table of the running source has one line, rewritten in place (rows, rows/s,
elapsed, and a percentage when the source knows its total). Elsewhere (a log file, CI) a plain
line per table is printed at most every few seconds, and once when the source ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import IO, Any

__all__ = ["ProgressDisplay"]

_REDRAW_SECONDS = 0.1
_PLAIN_SECONDS = 5.0


@dataclass
class _Table:
    name: str
    rows: int = 0
    total: int | None = None
    elapsed: float = 0.0
    printed_at: float = 0.0
    printed_rows: int = -1

    def line(self) -> str:
        rate = self.rows / self.elapsed if self.elapsed > 0 else 0.0
        text = f"  {self.name}  {self.rows:,} rows  {rate:,.0f} rows/s  {self.elapsed:.1f}s"
        if self.total:
            text += f"  {min(100.0, 100.0 * self.rows / self.total):.0f}%"
        return text


class ProgressDisplay:
    """Renders :mod:`floe_ingestion_dlt.events` on ``stream``; live when it is a terminal."""

    def __init__(self, stream: IO[str], *, live: bool) -> None:
        self._stream = stream
        self._live = live
        self._namespace = ""
        self._tables: dict[str, _Table] = {}
        self._drawn = 0
        self._drawn_at = 0.0

    def __call__(self, event: Any) -> None:
        from floe_ingestion_dlt.events import SourceFinished, SourceStarted, TableProgress

        if isinstance(event, SourceStarted):
            self._namespace = event.target.split(".", 1)[0]
            self._tables, self._drawn = {}, 0
            self._write(f"> {event.source}: {event.source_type} -> {event.target} ...\n")
        elif isinstance(event, TableProgress):
            name = f"{self._namespace}.{event.table}"
            table = self._tables.setdefault(name, _Table(name))
            table.rows, table.total, table.elapsed = event.rows, event.total, event.elapsed_seconds
            self._show(table, final=False)
        elif isinstance(event, SourceFinished):
            if self._live:
                self._redraw()
            else:
                for table in self._tables.values():
                    self._show(table, final=True)
            outcome = event.outcome
            if outcome.error is None:
                self._write(
                    f"  {outcome.source}: {outcome.rows_loaded:,} rows in "
                    f"{outcome.duration_seconds:.1f}s\n"
                )
            else:
                first = str(outcome.error).splitlines()[0] if str(outcome.error) else ""
                self._write(f"x {outcome.source}: {first or type(outcome.error).__name__}\n")

    def _show(self, table: _Table, *, final: bool) -> None:
        now = time.monotonic()
        if self._live:
            if final or now - self._drawn_at >= _REDRAW_SECONDS:
                self._redraw()
                self._drawn_at = now
        elif (
            final and table.rows != table.printed_rows
        ) or now - table.printed_at >= _PLAIN_SECONDS:
            table.printed_at, table.printed_rows = now, table.rows
            self._write(table.line() + "\n")

    def _redraw(self) -> None:
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        lines = "".join(f"\x1b[2K{t.line()}\n" for t in self._tables.values())
        self._write(up + lines)
        self._drawn = len(self._tables)

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()
