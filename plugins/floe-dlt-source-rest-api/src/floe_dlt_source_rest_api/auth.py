"""``client.auth``: how requests authenticate. Secret values are ``SecretStr``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, SecretStr

from floe_dlt_source_rest_api._model import FROZEN, by_type

__all__ = ["ApiKeyAuth", "AuthConfig", "BearerAuth", "HttpBasicAuth"]


class BearerAuth(BaseModel):
    """``Authorization: Bearer <token>``; also the meaning of a mapping without ``type``."""

    model_config = FROZEN

    type: Literal["bearer"] = "bearer"
    token: SecretStr


class ApiKeyAuth(BaseModel):
    """An API key sent as a header or a query parameter called ``name``."""

    model_config = FROZEN

    type: Literal["api_key"]
    name: str = Field(default="Authorization", min_length=1)
    api_key: SecretStr
    location: Literal["header", "query"] = "header"


class HttpBasicAuth(BaseModel):
    """HTTP basic authentication."""

    model_config = FROZEN

    type: Literal["http_basic"]
    username: str = Field(min_length=1)
    password: SecretStr


_AUTH_TYPES: dict[str, type[BaseModel]] = {
    "bearer": BearerAuth,
    "api_key": ApiKeyAuth,
    "http_basic": HttpBasicAuth,
}

AuthConfig = Annotated[
    BearerAuth | ApiKeyAuth | HttpBasicAuth,
    BeforeValidator(by_type(_AUTH_TYPES, "auth", default="bearer")),
]
