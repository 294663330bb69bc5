"""``processing_steps`` from YAML: dlt takes functions, so floe.yaml names them as
``module:function`` (importable, or a module file next to floe.yaml)."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["resolve_steps", "with_placeholder_steps"]

_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def _steps(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every processing step mapping of ``spec`` (resources and resource_defaults)."""
    holders = [spec.get("resource_defaults") or {}, *spec.get("resources", [])]
    for holder in holders:
        if isinstance(holder, dict):
            for step in holder.get("processing_steps") or []:
                if isinstance(step, dict):
                    yield step


def _replace(spec: dict[str, Any], function: Callable[[str], Any]) -> dict[str, Any]:
    for step in _steps(spec):
        for kind, value in list(step.items()):
            if isinstance(value, str) and _REFERENCE.match(value):
                step[kind] = function(value)
    return spec


def _identity(item: Any) -> Any:
    return item


def with_placeholder_steps(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with each ``module:function`` step replaced by a stand-in, so that dlt's
    validation accepts it without importing anything."""
    return _replace(spec, lambda _: _identity)


def resolve_steps(spec: dict[str, Any], project_dir: str) -> dict[str, Any]:
    """``spec`` with each ``module:function`` step replaced by that function.

    Raises:
        ImportError, AttributeError: the module or function does not exist.
    """

    def load(reference: str) -> Any:
        module_name, function = reference.split(":", 1)
        if project_dir not in sys.path:
            sys.path.insert(0, project_dir)
        return getattr(importlib.import_module(module_name), function)

    return _replace(spec, load)
