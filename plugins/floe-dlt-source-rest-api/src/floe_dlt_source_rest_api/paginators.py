"""``paginator``: how the next page is requested. A type name alone is the shorthand form."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, Field, field_validator, model_validator

from floe_dlt_source_rest_api._model import FROZEN, by_type

__all__ = [
    "AutoPaginator",
    "CursorPaginator",
    "HeaderCursorPaginator",
    "HeaderLinkPaginator",
    "JsonLinkPaginator",
    "OffsetPaginator",
    "PageNumberPaginator",
    "PaginatorConfig",
    "SinglePagePaginator",
]


class AutoPaginator(BaseModel):
    """dlt guesses the paginator from the first response."""

    model_config = FROZEN

    type: Literal["auto"]


class SinglePagePaginator(BaseModel):
    """One request, no further pages."""

    model_config = FROZEN

    type: Literal["single_page"]


class JsonLinkPaginator(BaseModel):
    """The URL of the next page is in the JSON body at ``next_url_path``."""

    model_config = FROZEN

    type: Literal["json_link", "json_response"]
    next_url_path: str = Field(default="next", min_length=1)

    @field_validator("type")
    @classmethod
    def _current_name(cls, value: str) -> str:
        """``json_response`` is dlt's deprecated name of ``json_link``."""
        return "json_link"


class HeaderLinkPaginator(BaseModel):
    """The URL of the next page is in the ``Link`` header (``rel="next"``)."""

    model_config = FROZEN

    type: Literal["header_link"]
    links_next_key: str = Field(default="next", min_length=1)


class HeaderCursorPaginator(BaseModel):
    """A cursor in a response header is sent back as the ``cursor_param`` query parameter."""

    model_config = FROZEN

    type: Literal["header_cursor"]
    cursor_key: str = Field(default="next", min_length=1)
    cursor_param: str = Field(default="cursor", min_length=1)


class CursorPaginator(BaseModel):
    """A cursor in the JSON body (``cursor_path``) is sent back as ``cursor_param``."""

    model_config = FROZEN

    type: Literal["cursor"]
    cursor_path: str = Field(default="cursors.next", min_length=1)
    cursor_param: str | None = None
    cursor_body_path: str | None = None
    stop_after_empty_page: bool = False
    has_more_path: str | None = None

    @model_validator(mode="after")
    def _one_place(self) -> Self:
        if self.cursor_param and self.cursor_body_path:
            raise ValueError("give cursor_param or cursor_body_path, not both")
        return self


def _check_range(param: str | None, body_path: str | None, what: str) -> None:
    if param and body_path:
        raise ValueError(f"give {what}_param or {what}_body_path, not both")


def _check_stop(model: PageNumberPaginator | OffsetPaginator, maximum: int | None) -> None:
    stops = (model.total_path, maximum, model.has_more_path, model.stop_after_empty_page or None)
    if all(stop is None for stop in stops):
        raise ValueError(
            "pagination could never stop: give total_path, a maximum, has_more_path or "
            "stop_after_empty_page: true"
        )


class PageNumberPaginator(BaseModel):
    """Pages numbered from ``base_page``; stops at ``total_path``, ``maximum_page``,
    ``has_more_path`` or (by default) the first empty page."""

    model_config = FROZEN

    type: Literal["page_number"]
    base_page: int = Field(default=0, ge=0)
    page: int | None = Field(default=None, ge=0)
    page_param: str | None = None
    page_body_path: str | None = None
    total_path: str | None = "total"
    maximum_page: int | None = Field(default=None, ge=0)
    stop_after_empty_page: bool = True
    has_more_path: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_range(self.page_param, self.page_body_path, "page")
        _check_stop(self, self.maximum_page)
        return self


class OffsetPaginator(BaseModel):
    """``limit`` items per request, ``offset`` advancing by ``limit``."""

    model_config = FROZEN

    type: Literal["offset"]
    limit: int = Field(ge=1)
    offset: int = Field(default=0, ge=0)
    offset_param: str | None = None
    offset_body_path: str | None = None
    limit_param: str | None = None
    limit_body_path: str | None = None
    total_path: str | None = "total"
    maximum_offset: int | None = Field(default=None, ge=0)
    stop_after_empty_page: bool = True
    has_more_path: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_range(self.offset_param, self.offset_body_path, "offset")
        _check_range(self.limit_param, self.limit_body_path, "limit")
        _check_stop(self, self.maximum_offset)
        return self


_PAGINATOR_TYPES: dict[str, type[BaseModel]] = {
    "json_link": JsonLinkPaginator,
    "json_response": JsonLinkPaginator,
    "header_link": HeaderLinkPaginator,
    "header_cursor": HeaderCursorPaginator,
    "cursor": CursorPaginator,
    "page_number": PageNumberPaginator,
    "offset": OffsetPaginator,
    "single_page": SinglePagePaginator,
    "auto": AutoPaginator,
}

PaginatorConfig = Annotated[
    JsonLinkPaginator
    | HeaderLinkPaginator
    | HeaderCursorPaginator
    | CursorPaginator
    | PageNumberPaginator
    | OffsetPaginator
    | SinglePagePaginator
    | AutoPaginator,
    BeforeValidator(by_type(_PAGINATOR_TYPES, "paginator")),
]
