"""The ``config:`` block of a ``rest_api`` source: dlt's ``RESTAPIConfig`` as dlt documents it,
validated by dlt, with secrets kept as ``SecretStr`` and floe's optional ``http:`` block."""

from __future__ import annotations

import re
from typing import Any, Self

from floe_core.compiler import reveal
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = ["HttpSettings", "RestApiConfig", "secrets_in"]

#: Keys whose string values are secrets (auth fields, credential-like headers and params).
_SENSITIVE = re.compile(r"key|token|secret|passw|pwd|credential|signature|auth|cookie", re.I)
#: ... except where the value is an address or a JSON path, not a secret.
_NOT_SECRET = re.compile(r"(url|path|location|type|name|param)$", re.I)


class HttpSettings(BaseModel):
    """Request timeout and the REST client's own retries of 429, 5xx and connection errors.

    Unset values come from dlt's runtime configuration (``RUNTIME__REQUEST_TIMEOUT``, ...).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)
    max_attempts: int | None = Field(default=None, ge=1, le=20)
    backoff_factor: float | None = Field(default=None, ge=0, le=60)
    max_retry_delay_seconds: float | None = Field(default=None, ge=0, le=3600)


#: Where credentials go: secrets are looked for only inside these mappings.
_CREDENTIAL_HOLDERS = frozenset({"auth", "headers", "params", "json", "data"})


def _mask(value: Any, key: str = "", inside: bool = False) -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, str(k), inside or k in _CREDENTIAL_HOLDERS) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(item, key, inside) for item in value]
    if inside and isinstance(value, str) and _SENSITIVE.search(key) and not _NOT_SECRET.search(key):
        return SecretStr(value)
    return value


def secrets_in(value: Any) -> list[str]:
    """Every ``SecretStr`` value inside ``value``, at any depth."""
    if isinstance(value, SecretStr):
        return [value.get_secret_value()]
    if isinstance(value, BaseModel):
        value = {name: getattr(value, name) for name in type(value).model_fields}
    if isinstance(value, dict):
        return [s for item in value.values() for s in secrets_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in secrets_in(item)]
    return []


class RestApiConfig(BaseModel):
    """``client``, ``resources`` and ``resource_defaults`` exactly as ``rest_api_source`` takes
    them, plus ``http``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client: dict[str, Any]
    resources: list[Any]
    resource_defaults: dict[str, Any] | None = None
    http: HttpSettings = Field(default_factory=HttpSettings)

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: v if k == "http" else _mask(v, str(k)) for k, v in data.items()}

    @model_validator(mode="after")
    def _dlt_accepts(self) -> Self:
        from floe_dlt_source_rest_api.steps import with_placeholder_steps

        error = _base_url_error(self.client) or dlt_validation_error(
            with_placeholder_steps(self.to_dlt())
        )
        if error is not None:
            path, message = error
            for secret in sorted(secrets_in(self), key=len, reverse=True):
                message = message.replace(secret, "***")
            details = InitErrorDetails(
                type=PydanticCustomError("rest_api_config", message), loc=(path,), input=None
            )
            raise ValidationError.from_exception_data("RestApiConfig", [details])
        return self

    def to_dlt(self) -> dict[str, Any]:
        """The dict ``rest_api_source`` takes, secrets revealed: never log it."""
        spec: dict[str, Any] = {"client": reveal(self.client), "resources": reveal(self.resources)}
        if self.resource_defaults is not None:
            spec["resource_defaults"] = reveal(self.resource_defaults)
        return spec

    def resource_names(self) -> list[str]:
        return [r if isinstance(r, str) else str(r.get("name")) for r in self.resources]


def _base_url_error(client: dict[str, Any]) -> tuple[str, str] | None:
    """dlt accepts a client without ``base_url`` and fails only when the first request is made."""
    url = client.get("base_url")
    if "base_url" not in client:
        return "client.base_url", "field required: the API's http:// or https:// URL"
    if not isinstance(url, str) or url.split("://", 1)[0].lower() not in ("http", "https"):
        return "client.base_url", f"must be an http:// or https:// URL, not {url!r}"
    return None


def dlt_validation_error(spec: dict[str, Any]) -> tuple[str, str] | None:
    """dlt's own check of ``spec``: the path of the most specific field it refuses
    (``resources[1].endpoint.paginator.type``) and dlt's message, or ``None``."""
    from dlt.common.exceptions import DictValidationException
    from dlt.common.validation import validate_dict
    from dlt.sources.rest_api.typing import RESTAPIConfig

    try:
        validate_dict(RESTAPIConfig, spec, path=".")
    except DictValidationException as exc:
        found = _most_specific(exc)
        return _path(found) or "config", " ".join(found.msg.split())
    return None


def _path(exc: Any) -> str:
    parts = [p for p in exc.path.strip("./").split("/") if p]
    if exc.field:
        parts.append(exc.field)
    return ".".join(parts)


def _most_specific(exc: Any, value: Any = None) -> Any:
    """Of the alternatives dlt tried for a union, the deepest error; among equals, the one for
    the mapping whose ``type`` the value names, else the first mapping."""
    value = exc.value if exc.value is not None else value
    best, best_rank = exc, _rank(exc, value)
    for nested in exc.nested_exceptions or []:
        candidate = _most_specific(nested, value)
        rank = _rank(candidate, candidate.value if candidate.value is not None else value)
        if rank > best_rank:
            best, best_rank = candidate, rank
    return best


def _rank(exc: Any, value: Any) -> tuple[int, int, int, int]:
    path = _path(exc)
    depth = len(path.replace("[", ".").split(".")) if path else 0
    expected = exc.expected_type
    is_mapping = isinstance(expected, type) and issubclass(expected, dict)
    names_type = 0
    if is_mapping and isinstance(value, dict) and isinstance(value.get("type"), str):
        names_type = int(_config_class_of(value["type"]) == expected.__name__.lower())
    elif isinstance(value, str):
        names_type = int(getattr(expected, "__name__", str(expected)) == "Literal")
    return depth, names_type, int(not exc.nested_exceptions), int(is_mapping)


def _config_class_of(kind: str) -> str:
    """The lower-case name of dlt's config mapping for an auth or paginator ``type``."""
    from dlt.sources.rest_api.config_setup import AUTH_MAP, PAGINATOR_MAP

    known: dict[str, Any] = {**PAGINATOR_MAP, **AUTH_MAP}
    cls = known.get(kind)
    return f"{cls.__name__.lower()}config" if cls is not None else ""
