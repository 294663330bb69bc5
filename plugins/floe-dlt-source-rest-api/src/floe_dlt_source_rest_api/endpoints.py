"""``endpoint``: the request a resource makes, its params, incremental cursor and paging."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from floe_dlt_source_rest_api._model import FROZEN, by_type
from floe_dlt_source_rest_api.auth import AuthConfig
from floe_dlt_source_rest_api.paginators import PaginatorConfig

__all__ = [
    "Endpoint",
    "EndpointConfig",
    "EndpointIncremental",
    "IncrementalParam",
    "ParamValue",
    "ResolveParam",
    "ResponseAction",
]

CursorMissing = Literal["raise", "include", "exclude"]
RangeBound = Literal["open", "closed"]
Scalar = str | int | float | bool | None


class IncrementalParam(BaseModel):
    """A query parameter carrying the last cursor value seen (``type: incremental``)."""

    model_config = FROZEN

    type: Literal["incremental"]
    cursor_path: str = Field(min_length=1, description="JSON path of the cursor in each item")
    initial_value: Any = None
    lag: float | None = None
    on_cursor_value_missing: CursorMissing | None = None
    range_start: RangeBound | None = None
    range_end: RangeBound | None = None


class ResolveParam(BaseModel):
    """A query parameter taken from each item of a parent resource (``type: resolve``)."""

    model_config = FROZEN

    type: Literal["resolve"]
    resource: str = Field(min_length=1)
    field: str = Field(min_length=1)


_PARAM_TYPES: dict[str, type[BaseModel]] = {
    "incremental": IncrementalParam,
    "resolve": ResolveParam,
}
_pick_param = by_type(_PARAM_TYPES, "param")


def _param(value: Any) -> Any:
    if isinstance(value, dict | BaseModel):
        return _pick_param(value)
    items = value if isinstance(value, list) else [value]
    if not all(item is None or isinstance(item, str | int | float | bool) for item in items):
        raise ValueError("must be a value, a list of values, or a mapping with a type")
    return value


ParamValue = Annotated[
    IncrementalParam | ResolveParam | Scalar | list[Scalar], BeforeValidator(_param)
]


class EndpointIncremental(BaseModel):
    """Incremental loading bound to ``{incremental.start_value}`` placeholders or params."""

    model_config = FROZEN

    cursor_path: str = Field(min_length=1)
    start_param: str | None = None
    end_param: str | None = None
    initial_value: Any = None
    end_value: Any = None
    lag: float | None = None
    on_cursor_value_missing: CursorMissing | None = None
    range_start: RangeBound | None = None
    range_end: RangeBound | None = None


class ResponseAction(BaseModel):
    """Skip responses with this status code and/or containing this text."""

    model_config = FROZEN

    status_code: int | None = Field(default=None, ge=100, le=599)
    content: str | None = None
    action: Literal["ignore"]

    @model_validator(mode="after")
    def _matches_something(self) -> Self:
        if self.status_code is None and self.content is None:
            raise ValueError("give status_code, content or both")
        return self


def _endpoint(value: Any) -> Any:
    return {"path": value} if isinstance(value, str) else value


class Endpoint(BaseModel):
    """The request of one resource; ``path`` defaults to the resource name."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    path: str | None = None
    method: Literal["GET", "POST"] | None = None
    params: dict[str, ParamValue] | None = None
    json_body: dict[str, Any] | None = Field(default=None, alias="json")
    headers: dict[str, SecretStr] | None = None
    data_selector: str | None = None
    paginator: PaginatorConfig | None = None
    incremental: EndpointIncremental | None = None
    response_actions: list[ResponseAction] | None = None
    auth: AuthConfig | None = None

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_incremental(self) -> Self:
        names = [k for k, v in (self.params or {}).items() if isinstance(v, IncrementalParam)]
        if len(names) > 1:
            raise ValueError(f"only one incremental param per endpoint, got {', '.join(names)}")
        if names and self.incremental is not None:
            raise ValueError(
                f"give incremental either as param {names[0]!r} or as endpoint.incremental"
            )
        return self


EndpointConfig = Annotated[Endpoint, BeforeValidator(_endpoint)]
