"""One run per pipeline at a time: an advisory lock next to the pipeline's local state.

``flock`` is released by the kernel when its holder exits, ``kill -9`` included, so a lock is
never left stale.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from floe_ingestion_dlt.errors import IngestionError

__all__ = ["PipelineLockedError", "pipeline_lock"]


class PipelineLockedError(IngestionError):
    """Another process is running the same pipeline."""


@contextmanager
def pipeline_lock(
    pipelines_dir: Path, pipeline_name: str, *, source_type: str = ""
) -> Iterator[None]:
    pipelines_dir.mkdir(parents=True, exist_ok=True)
    path = pipelines_dir / f"{pipeline_name}.lock"
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise PipelineLockedError(
                f"pipeline {pipeline_name!r} is already running ({holder}); wait for it to "
                "finish, this run was not started",
                source_type=source_type,
                pipeline_name=pipeline_name,
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock
