"""Keep NULL apart from empty for lists and maps of structs in pyiceberg's Arrow projection.

pyiceberg (0.12) projects Arrow data onto the table schema, when it writes a data file and when
it reads one, with ``pyiceberg.io.pyarrow.ArrowProjectionVisitor``. For a list (or map) whose
elements are structs it rebuilds the array from its offsets alone (its workaround for
apache/arrow#38809), which drops the array's validity: a NULL ``list<struct>`` is written, and
read, as an empty list. :func:`install` wraps the visitor's ``list`` and ``map`` methods so
the result gets the input's NULLs back; where pyiceberg kept them, nothing changes.
"""

from __future__ import annotations

import threading
from typing import Any

import pyarrow as pa

__all__ = ["install"]

_lock = threading.Lock()
_installed = False


def install() -> None:
    """Wrap the visitor once per process (idempotent, thread-safe)."""
    global _installed
    with _lock:
        if _installed:
            return
        # pyiceberg's projection visitor: its public class, whose list/map results lose NULLs
        from pyiceberg.io.pyarrow import ArrowProjectionVisitor

        project_list = ArrowProjectionVisitor.list
        project_map = ArrowProjectionVisitor.map

        def list_keeping_nulls(self: Any, list_type: Any, list_array: Any, value_array: Any) -> Any:
            result = project_list(self, list_type, list_array, value_array)
            return _with_nulls_of(result, list_array)

        def map_keeping_nulls(
            self: Any, map_type: Any, map_array: Any, key_result: Any, value_result: Any
        ) -> Any:
            result = project_map(self, map_type, map_array, key_result, value_result)
            return _with_nulls_of(result, map_array)

        list_keeping_nulls.__wrapped__ = project_list  # type: ignore[attr-defined]
        map_keeping_nulls.__wrapped__ = project_map  # type: ignore[attr-defined]
        ArrowProjectionVisitor.list = list_keeping_nulls  # type: ignore[method-assign]
        ArrowProjectionVisitor.map = map_keeping_nulls  # type: ignore[method-assign]
        _installed = True


def _with_nulls_of(result: Any, source: Any) -> Any:
    """``result`` with the NULL entries of ``source`` (same length), if it lost any."""
    if not isinstance(result, (pa.ListArray, pa.LargeListArray, pa.MapArray)):
        return result
    if not isinstance(source, pa.Array) or source.null_count == result.null_count:
        return result
    mask = source.is_null()
    if isinstance(result, pa.MapArray):
        return pa.MapArray.from_arrays(
            result.offsets, result.keys, result.items, type=result.type, mask=mask
        )
    return type(result).from_arrays(result.offsets, result.values, type=result.type, mask=mask)
