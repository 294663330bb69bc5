"""Shared pieces of the config models: strictness, ``type:``-tagged unions, conversion to dlt."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = ["FROZEN", "by_type", "config_error", "plain", "secrets_in"]

FROZEN = ConfigDict(frozen=True, extra="forbid")


def by_type(
    models: Mapping[str, type[BaseModel]], what: str, default: str | None = None
) -> Callable[[Any], Any]:
    """A before-validator choosing the model by the mapping's ``type:`` key.

    Validating the chosen model directly keeps the union's tag out of error locations, so an
    error reads ``client.auth.token`` rather than ``client.auth.bearer.token``.
    """
    known = ", ".join(models)

    def choose(value: Any) -> Any:
        if isinstance(value, BaseModel):
            return value
        if isinstance(value, str):
            value = {"type": value}
        if not isinstance(value, dict):
            raise ValueError(f"must be a mapping with a type: one of {known}")
        kind = value.get("type", default)
        if kind is None:
            raise ValueError(f"give the {what} a type: one of {known}")
        if kind not in models:
            raise ValueError(f"unknown {what} type {kind!r}; use one of {known}")
        return models[kind].model_validate(value)

    return choose


def config_error(loc: tuple[str | int, ...], message: str, value: Any) -> ValidationError:
    """A validation error at ``loc``, for checks that span several fields."""
    details = InitErrorDetails(
        type=PydanticCustomError("rest_api_config", message), loc=loc, input=value
    )
    return ValidationError.from_exception_data("RestApiConfig", [details])


def plain(value: Any) -> Any:
    """The dict dlt expects: fields the user set (and every ``type``), secrets revealed."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        chosen = set(value.model_fields_set) | ({"type"} & set(fields))
        return {
            (info.alias or name): plain(getattr(value, name))
            for name, info in fields.items()
            if name in chosen
        }
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def secrets_in(value: Any) -> list[str]:
    """Every ``SecretStr`` value inside a model, at any depth."""
    found: list[str] = []
    if isinstance(value, SecretStr):
        found.append(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found.extend(secrets_in(getattr(value, name)))
    elif isinstance(value, dict):
        for item in value.values():
            found.extend(secrets_in(item))
    elif isinstance(value, list | tuple):
        for item in value:
            found.extend(secrets_in(item))
    return found
