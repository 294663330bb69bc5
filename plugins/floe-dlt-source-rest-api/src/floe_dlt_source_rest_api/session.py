"""The HTTP session a REST source reads through: dlt's retrying client, with errors that name
the request, never carry a secret, and say so plainly when a body is not JSON."""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote, quote_plus

import requests
from floe_ingestion_dlt.errors import SourceDataError

from floe_dlt_source_rest_api._model import secrets_in
from floe_dlt_source_rest_api.config import ResourceDefaults, RestApiConfig
from floe_dlt_source_rest_api.endpoints import Endpoint

__all__ = ["Redactor", "ResponseNotJsonError", "build_session", "sanitize_url"]

#: Headers and query parameters whose values are treated as secrets.
_SENSITIVE = re.compile(r"key|token|secret|passw|pwd|credential|signature|auth|cookie", re.I)


class ResponseNotJsonError(SourceDataError):
    """An API answered with a body that is not JSON."""


class Redactor:
    """Replaces every secret of a source's config (and its URL-encoded forms) with ``***``."""

    def __init__(self, config: RestApiConfig) -> None:
        endpoints = _endpoints(config)
        values = secrets_in([config.client.auth, *(e.auth for e in endpoints)])
        for headers in [config.client.headers, *(e.headers for e in endpoints)]:
            values += [v.get_secret_value() for k, v in (headers or {}).items() if _sensitive(k)]
        for endpoint in endpoints:
            params = endpoint.params or {}
            values += [str(v) for k, v in params.items() if _sensitive(k) and v is not None]
        variants = {form for v in values for form in (v, quote(v, safe=""), quote_plus(v))}
        self.secrets = sorted((s for s in variants if len(s) >= 3), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class _LogRedaction(logging.Filter):
    """Removes the secrets of live REST sources from records of the HTTP and dlt loggers
    (urllib3 logs each request's URL, query string included, at DEBUG level)."""

    def __init__(self) -> None:
        super().__init__()
        self.redactors: weakref.WeakSet[Redactor] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        redactors = list(self.redactors)
        if redactors:
            message = clean = record.getMessage()
            for redact in redactors:
                clean = redact(clean)
            if clean != message:
                record.msg, record.args = clean, None
        return True


_LOG_REDACTION = _LogRedaction()
_REDACTED_LOGGERS = ("urllib3.connectionpool", "dlt")


def redact_logs(redact: Redactor) -> None:
    """Keep ``redact``'s secrets out of log records while it is alive."""
    for name in _REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if _LOG_REDACTION not in logger.filters:
            logger.addFilter(_LOG_REDACTION)
    _LOG_REDACTION.redactors.add(redact)


def sanitize_url(url: str | None, redact: Callable[[str], str]) -> str:
    """``url`` with sensitive query values masked and every known secret removed."""
    from dlt.sources.helpers.rest_client.redaction import sanitize_url as dlt_sanitize

    return redact(dlt_sanitize(url or ""))


class _JsonCheckedResponse(requests.Response):
    """A response whose body is parsed once, with dlt's JSON (orjson), and whose ``json()``
    failure names the request instead of a character offset.

    dlt's REST client asks for ``json()`` twice per page (the paginator and the data selector).
    """

    redact: Callable[[str], str]

    def json(self, **kwargs: Any) -> Any:
        if kwargs:
            return self._checked(lambda: super(_JsonCheckedResponse, self).json(**kwargs))
        if "_floe_body" not in self.__dict__:
            self._floe_body = self._checked(self._parse)
        return self._floe_body

    def _parse(self) -> Any:
        from dlt.common.json import json as dlt_json

        try:
            return dlt_json.loadb(self.content)
        except ValueError:  # not UTF-8 JSON: requests decodes by the declared charset
            return super().json()

    def _checked(self, parse: Callable[[], Any]) -> Any:
        try:
            return parse()
        except requests.JSONDecodeError as exc:
            content_type = self.headers.get("Content-Type") or "no content type"
            method = self.request.method if self.request is not None else "GET"
            raise ResponseNotJsonError(
                f"{method} {sanitize_url(self.url, self.redact)} answered HTTP "
                f"{self.status_code} with a body that is not JSON ({content_type}, "
                f"{len(self.content)} bytes): {exc.msg} at character {exc.pos}",
            ) from exc


def _redacted(
    exc: requests.RequestException, request: requests.PreparedRequest, redact: Callable[[str], str]
) -> requests.RequestException:
    """The same exception type (so retry categories hold) with a message free of secrets."""
    detail = redact(" ".join(str(exc).split()))
    if not isinstance(exc, requests.HTTPError):
        what = "timed out" if isinstance(exc, requests.Timeout) else "failed"
        detail = f"{request.method} {sanitize_url(request.url, redact)} {what}: {detail}"
    return type(exc)(detail, request=exc.request, response=exc.response)


def _guarded(
    send: Callable[..., requests.Response], redact: Callable[[str], str]
) -> Callable[..., requests.Response]:
    def send_guarded(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        try:
            response = send(request, **kwargs)
        except requests.RequestException as exc:
            raise _redacted(exc, request, redact) from None
        if type(response) is requests.Response:
            response.__class__ = _JsonCheckedResponse
            cast(_JsonCheckedResponse, response).redact = redact
        return response

    return send_guarded


def build_session(config: RestApiConfig, redact: Redactor) -> requests.Session:
    """dlt's retrying session (429 and 5xx honouring ``Retry-After``, connection errors and
    timeouts) with ``config.http``'s settings; unset ones come from dlt's runtime config."""
    from dlt.sources.helpers.requests import Client

    http = config.http
    explicit: dict[str, Any] = {
        "request_timeout": http.timeout_seconds,
        "request_max_attempts": http.max_attempts,
        "request_backoff_factor": http.backoff_factor,
        "request_max_retry_delay": http.max_retry_delay_seconds,
    }
    client = Client(raise_for_status=False, **{k: v for k, v in explicit.items() if v is not None})
    session = client.session
    session.send = _guarded(session.send, redact)  # type: ignore[method-assign]
    redact_logs(redact)
    return session


def _sensitive(name: str) -> bool:
    return _SENSITIVE.search(name) is not None


def _endpoints(config: RestApiConfig) -> list[Endpoint]:
    resources: list[ResourceDefaults] = [*config.resources]
    if config.resource_defaults is not None:
        resources.append(config.resource_defaults)
    return [r.endpoint for r in resources if r.endpoint is not None]
