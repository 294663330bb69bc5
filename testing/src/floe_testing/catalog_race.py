"""Many processes creating one namespace and one table in an Iceberg catalog at the same moment.

Each worker process opens the catalog through floe (``catalog_from``), then, for every round,
waits at a barrier with the others and creates the round's namespace, a table of its own and one
table all workers share, through floe's idempotent ``ensure_namespace`` and ``create_table``.
A round's catalog may be new (its properties differ per round), so opening it races too.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier

__all__ = ["RaceResult", "race"]

_BARRIER_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class RaceResult:
    """What the workers reported: the failures (round, worker, traceback's last line) and how
    many creations each round saw succeed."""

    failures: list[tuple[int, int, str]]
    successes: int


def _worker(
    index: int,
    rounds: Sequence[tuple[str, dict[str, str]]],
    barrier: Barrier,
    results: multiprocessing.Queue[tuple[int, int, str | None]],
) -> None:
    import pyarrow as pa
    from floe_dlt_destination_iceberg.catalog import catalog_from, create_table, ensure_namespace

    schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
    for number, (namespace, properties) in enumerate(rounds):
        try:
            barrier.wait(_BARRIER_TIMEOUT_SECONDS)
        except Exception:  # a worker died: the barrier is broken for this round
            results.put((number, index, "barrier broken"))
            continue
        try:
            with catalog_from("floe", properties) as catalog:  # closes its connections
                ensure_namespace(catalog, namespace)
                create_table(catalog, f"{namespace}.own_{index}", schema=schema)
                shared = create_table(catalog, f"{namespace}.shared", schema=schema)
                assert shared.schema().column_names == ["id", "name"]
            results.put((number, index, None))
        except Exception as error:
            last = traceback.format_exception_only(type(error), error)[-1].strip()
            results.put((number, index, last))


def race(workers: int, rounds: Sequence[tuple[str, dict[str, str]]]) -> RaceResult:
    """Run ``rounds`` (namespace, catalog properties) with ``workers`` processes creating at
    once."""
    context = multiprocessing.get_context("spawn")  # no catalog connection crosses a fork
    barrier = context.Barrier(workers)
    results: multiprocessing.Queue[tuple[int, int, str | None]] = context.Queue()
    processes = [
        context.Process(target=_worker, args=(i, list(rounds), barrier, results))
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    reports = [
        results.get(timeout=_BARRIER_TIMEOUT_SECONDS * 2) for _ in range(workers * len(rounds))
    ]
    for process in processes:
        process.join(60)
    failures = [(number, index, error) for number, index, error in reports if error is not None]
    return RaceResult(sorted(failures), len(reports) - len(failures))
