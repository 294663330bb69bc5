"""YAML loading that remembers where every value came from and interpolates ``${VAR}``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from floe_core.errors import FloeConfigError

__all__ = ["LoadedYaml", "load_yaml"]

Loc = tuple[str | int, ...]
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class LoadedYaml:
    """The parsed document plus the line (1-based) of every key path in it."""

    def __init__(self, data: Any, lines: dict[Loc, int], path: str) -> None:
        self.data = data
        self.lines = lines
        self.path = path

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc`` or of its closest ancestor that has one."""
        while True:
            if loc in self.lines:
                return self.lines[loc]
            if not loc:
                return None
            loc = loc[:-1]


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _interpolate(text: str, env: Mapping[str, str], path: str, line: int) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise FloeConfigError(
            f"environment variable {name} is not set (referenced as ${{{name}}})",
            path=path,
            line=line,
        )

    return _VAR.sub(replace, text)


def load_yaml(file: Path, env: Mapping[str, str] | None = None) -> LoadedYaml:
    """Parse ``file``; raise :class:`FloeConfigError` with a line for any syntax problem."""
    env = os.environ if env is None else env
    shown = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FloeConfigError("file not found", path=shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FloeConfigError(f"cannot read file: {exc}", path=shown) from None

    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # e.g. a control character the YAML reader refuses
        raise FloeConfigError(f"invalid YAML: {_one_line(exc)}", path=shown) from None
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise FloeConfigError(
            f"invalid YAML: {problem}", path=shown, line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise FloeConfigError(f"invalid YAML: {_one_line(exc)}", path=shown) from None
    finally:
        loader.dispose()

    lines: dict[Loc, int] = {}

    def build(current: yaml.Node | None, loc: Loc) -> Any:
        if current is None:
            return None
        lines[loc] = current.start_mark.line + 1
        if isinstance(current, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in current.value:
                key = loader.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    raise FloeConfigError(
                        f"keys must be strings, got {key!r}",
                        path=shown,
                        line=key_node.start_mark.line + 1,
                    )
                if key in result:
                    raise FloeConfigError(
                        f"duplicate key {key!r}", path=shown, line=key_node.start_mark.line + 1
                    )
                result[key] = build(value_node, (*loc, key))
                lines[(*loc, key)] = key_node.start_mark.line + 1
            return result
        if isinstance(current, yaml.SequenceNode):
            return [build(item, (*loc, index)) for index, item in enumerate(current.value)]
        value = loader.construct_object(current, deep=True)
        if isinstance(value, str):
            return _interpolate(value, env, shown, current.start_mark.line + 1)
        return value

    try:
        data = build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise FloeConfigError(
            f"invalid YAML: {exc.problem}", path=shown, line=mark.line + 1 if mark else None
        ) from None
    return LoadedYaml({} if data is None else data, lines, shown)
