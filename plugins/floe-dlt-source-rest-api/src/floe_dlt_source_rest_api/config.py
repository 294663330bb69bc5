"""The ``config:`` block of a ``rest_api`` source: dlt's declarative REST API config, checked
up front, plus an optional ``http:`` block for timeouts and retries."""

from __future__ import annotations

import graphlib
import string
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, Field, SecretStr, field_validator, model_validator

from floe_dlt_source_rest_api._model import FROZEN, config_error, plain
from floe_dlt_source_rest_api.auth import AuthConfig
from floe_dlt_source_rest_api.endpoints import Endpoint, EndpointConfig, ResolveParam
from floe_dlt_source_rest_api.paginators import PaginatorConfig

__all__ = ["ClientConfig", "HttpSettings", "ResourceConfig", "ResourceDefaults", "RestApiConfig"]

WriteDisposition = Literal["append", "replace", "merge"]
Loc = tuple[str | int, ...]


class ClientConfig(BaseModel):
    """Where the API is and how every request authenticates and pages."""

    model_config = FROZEN

    base_url: str = Field(description="http:// or https:// URL the endpoint paths are joined to")
    headers: dict[str, SecretStr] | None = None
    auth: AuthConfig | None = None
    paginator: PaginatorConfig | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        scheme, _, rest = value.partition("://")
        if scheme.lower() not in ("http", "https") or not rest.strip("/"):
            raise ValueError("must be an http:// or https:// URL")
        return value


class ResourceDefaults(BaseModel):
    """Settings every resource starts from (``resource_defaults``)."""

    model_config = FROZEN

    endpoint: EndpointConfig | None = None
    primary_key: str | list[str] | None = None
    write_disposition: WriteDisposition | None = None
    max_table_nesting: int | None = Field(default=None, ge=0)
    selected: bool | None = None
    include_from_parent: list[str] | None = None


class ResourceConfig(ResourceDefaults):
    """One resource: one endpoint, loaded into ``<namespace>.<name>``."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _resource(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class HttpSettings(BaseModel):
    """Request timeout and the REST client's own retries of 429, 5xx and connection errors.

    Unset values come from dlt's runtime configuration (``RUNTIME__REQUEST_TIMEOUT``, ...).
    """

    model_config = FROZEN

    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)
    max_attempts: int | None = Field(default=None, ge=1, le=20)
    backoff_factor: float | None = Field(default=None, ge=0, le=60)
    max_retry_delay_seconds: float | None = Field(default=None, ge=0, le=3600)


class RestApiConfig(BaseModel):
    """``client``, ``resources`` and ``resource_defaults`` as in ``rest_api_source``."""

    model_config = FROZEN

    client: ClientConfig
    resources: list[Annotated[ResourceConfig, BeforeValidator(_resource)]] = Field(min_length=1)
    resource_defaults: ResourceDefaults | None = None
    http: HttpSettings = Field(default_factory=HttpSettings)

    @model_validator(mode="after")
    def _check_resources(self) -> Self:
        names = [r.name for r in self.resources]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise config_error(("resources", index, "name"), f"duplicate {name!r}", name)
        graph: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        defaults = self.resource_defaults.endpoint if self.resource_defaults else None
        for index, resource in enumerate(self.resources):
            parent = _parent_of(index, resource, defaults, names)
            graph.add(resource.name, *([parent] if parent else []))
        try:
            graph.prepare()
        except graphlib.CycleError as exc:
            cycle = " -> ".join(exc.args[1])
            raise config_error(
                ("resources",), f"resources depend on each other: {cycle}", cycle
            ) from None
        return self

    def to_dlt(self) -> dict[str, Any]:
        """The dict ``rest_api_source`` takes, with secret values revealed: never log it."""
        spec: dict[str, Any] = {
            "client": plain(self.client),
            "resources": [plain(r) for r in self.resources],
        }
        if self.resource_defaults is not None:
            spec["resource_defaults"] = plain(self.resource_defaults)
        return spec


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _placeholders(text: str, loc: Loc) -> list[str]:
    try:
        return [field for _, field, _, _ in string.Formatter().parse(text) if field]
    except ValueError as exc:
        raise config_error(loc, f"malformed placeholder in {text!r} ({exc})", text) from None


def _parent_of(
    index: int, resource: ResourceConfig, defaults: Endpoint | None, names: list[str]
) -> str | None:
    """The parent a resource's placeholders and resolve params name, checked against ``names``."""
    endpoint = resource.endpoint or Endpoint()
    here: Loc = ("resources", index, "endpoint")
    params = {**((defaults.params if defaults else None) or {}), **(endpoint.params or {})}
    has_incremental = endpoint.incremental is not None or (
        defaults is not None and defaults.incremental is not None
    )
    refs: list[tuple[str, Loc]] = []
    in_path = _placeholders(endpoint.path or "", (*here, "path"))
    for field in in_path:
        if field.startswith("resources."):
            refs.append((field, (*here, "path")))
        elif field.startswith("incremental.") and has_incremental:
            continue
        elif field not in params:
            raise config_error(
                (*here, "path"),
                f"placeholder {{{field}}} is not {{resources.<parent>.<field>}}, "
                "{incremental.<value>} with endpoint.incremental, nor a key of endpoint.params",
                field,
            )
    for part in ("params", "json_body", "headers"):
        loc = (*here, "json" if part == "json_body" else part)
        for text in _strings(getattr(endpoint, part)):
            for field in _placeholders(text, loc):
                if field.startswith("resources."):
                    refs.append((field, loc))
                elif not (field.startswith("incremental.") and has_incremental):
                    raise config_error(
                        loc,
                        f"placeholder {{{field}}} must be {{resources.<parent>.<field>}} or "
                        "{incremental.<value>} with endpoint.incremental",
                        field,
                    )
    parents: set[str] = set()
    for field, loc in refs:
        parts = field.split(".", 2)
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise config_error(
                loc,
                f"write {{resources.<parent>.<field>}}, not {{{field}}}",
                field,
            )
        parents.add(_known_parent(parts[1], resource.name, names, loc))
    for key, value in (endpoint.params or {}).items():
        if isinstance(value, ResolveParam):
            loc = (*here, "params", key, "resource")
            parents.add(_known_parent(value.resource, resource.name, names, loc))
            if key not in in_path:
                raise config_error(
                    (*here, "path"),
                    f"the resolve param {key!r} must appear in the path as {{{key}}}",
                    endpoint.path,
                )
    if len(parents) > 1:
        raise config_error(
            here,
            f"resource {resource.name!r} names several parents ({', '.join(sorted(parents))}); "
            "a child resource has exactly one parent",
            sorted(parents),
        )
    return parents.pop() if parents else None


def _known_parent(parent: str, child: str, names: list[str], loc: Loc) -> str:
    if parent == child:
        raise config_error(loc, f"resource {child!r} refers to itself", parent)
    if parent not in names:
        raise config_error(
            loc,
            f"resource {child!r} refers to parent resource {parent!r}, which is not defined "
            f"(resources: {', '.join(names)})",
            parent,
        )
    return parent
