"""``compile_spec``: floe.yaml in, validated :class:`CompiledArtifacts` out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from floe_core._yaml import LoadedYaml, Loc, load_yaml
from floe_core.artifacts import CompiledArtifacts, PluginRef, ResolvedPlugins
from floe_core.errors import FloeConfigError
from floe_core.spec import FloeSpec

__all__ = ["DEFAULT_STATE_DIR", "compile_spec", "format_validation_error", "reveal"]

#: Folder, next to floe.yaml, holding the embedded catalog, warehouse and pipeline state.
DEFAULT_STATE_DIR = ".floe"

_SECRET_KEY = re.compile(
    r"password|passwd|secret|token|credential|api_?key|private_?key|access_?key", re.I
)
_URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:\s]*:[^/@\s]+@", re.I)


def _mask_secrets(value: Any, key: str = "") -> Any:
    """Wrap the secret-looking values of a free-form config block in ``SecretStr``."""
    if isinstance(value, dict):
        return {k: _mask_secrets(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_secrets(v, key) for v in value]
    if isinstance(value, str) and (_SECRET_KEY.search(key) or _URL_WITH_PASSWORD.match(value)):
        return SecretStr(value)
    return value


def reveal(value: Any) -> Any:
    """Undo :func:`_mask_secrets`: the plain values a plugin's own config model validates."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def _describe(loc: Loc, data: Any) -> str:
    """Render a location, naming sources by name: ``ingestion.sources[0](shop).config``."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            label = f"[{part}]"
            try:
                node = node[part]
                if isinstance(node, dict) and isinstance(node.get("name"), str):
                    label += f" (source {node['name']!r})"
            except (IndexError, KeyError, TypeError):
                node = None
            parts.append(label)
        else:
            shown = part if part.replace("-", "_").isidentifier() else repr(part)
            parts.append(f".{shown}" if parts else shown)
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts) or "<top level>"


def format_validation_error(error: ValidationError, loaded: LoadedYaml) -> FloeConfigError:
    """The first pydantic error as one line: file, line, field path and message."""
    item = error.errors(include_url=False)[0]
    loc: Loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and "[" in p))
    message = item["msg"].removeprefix("Value error, ")
    if item["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    elif item["type"] in ("literal_error", "string_pattern_mismatch") and "input" in item:
        message = f"{message} (got {item['input']!r})"
    where = _describe(loc, loaded.data)
    more = len(error.errors()) - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return FloeConfigError(
        f"{where}: {message}{suffix}", path=loaded.path, line=loaded.line_of(loc)
    )


def _resolve_path(value: str, base: Path) -> str:
    if "://" in value:
        if value.startswith("file://") and not value.startswith("file:///"):
            return (base / value.removeprefix("file://")).resolve().as_uri()
        return value
    return str((base / value).resolve())


def _resolve_catalog(data: dict[str, Any], base: Path) -> None:
    catalog = data.setdefault("catalog", {})
    if not isinstance(catalog, dict) or catalog.get("type", "sql") != "sql":
        return
    uri = catalog.get("uri")
    if uri is None:
        db = (base / DEFAULT_STATE_DIR / "catalog.db").resolve()
        catalog["uri"] = f"sqlite:///{db}"
    elif (
        isinstance(uri, str) and uri.startswith("sqlite:///") and not uri.startswith("sqlite:////")
    ):
        relative = uri.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            catalog["uri"] = f"sqlite:///{(base / relative).resolve()}"
    warehouse = catalog.get("warehouse")
    if warehouse is None:
        catalog["warehouse"] = str((base / DEFAULT_STATE_DIR / "warehouse").resolve())
    elif isinstance(warehouse, str):
        catalog["warehouse"] = _resolve_path(warehouse, base)


def compile_spec(path: str | Path, env: Mapping[str, str] | None = None) -> CompiledArtifacts:
    """Load, interpolate, validate and resolve ``floe.yaml``.

    Raises:
        FloeConfigError: one line naming the file, line, source and field.
    """
    file = Path(path)
    loaded = load_yaml(file, env)
    if not isinstance(loaded.data, dict):
        raise FloeConfigError("the top level must be a mapping of keys", path=loaded.path, line=1)
    base = file.resolve().parent
    data = loaded.data
    _resolve_catalog(data, base)
    storage = data.get("storage")
    if isinstance(storage, dict) and isinstance(storage.get("state_url"), str):
        storage["state_url"] = _resolve_path(storage["state_url"], base)
    ingestion = data.get("ingestion")
    if isinstance(ingestion, dict):
        if isinstance(ingestion.get("pipelines_dir"), str):
            ingestion["pipelines_dir"] = _resolve_path(ingestion["pipelines_dir"], base)
        sources = ingestion.get("sources") or []
        seen: set[str] = set()
        for index, source in enumerate(sources if isinstance(sources, list) else []):
            if not isinstance(source, dict):
                continue
            name = source.get("name")
            if isinstance(name, str):
                if name in seen:
                    loc: Loc = ("ingestion", "sources", index, "name")
                    raise FloeConfigError(
                        f"{_describe(loc, data)}: duplicate source name {name!r}",
                        path=loaded.path,
                        line=loaded.line_of(loc),
                    )
                seen.add(name)
            if isinstance(source.get("config"), dict):
                source["config"] = _mask_secrets(source["config"])
    try:
        spec = FloeSpec.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, loaded) from None
    return CompiledArtifacts(
        source_path=str(file.resolve()),
        project_dir=str(base),
        spec=spec,
        plugins=ResolvedPlugins(ingestion=PluginRef(type=spec.ingestion.plugin)),
    )
