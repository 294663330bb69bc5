"""The HTTP session a REST source reads through: dlt's retrying client with a mounted transport
adapter whose errors never carry a secret, and a response check that names the request."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import requests
from floe_ingestion_dlt.errors import SourceDataError
from requests.adapters import HTTPAdapter

from floe_dlt_source_rest_api.config import HttpSettings, RestApiConfig, secrets_in

__all__ = ["Redactor", "ResponseNotJsonError", "build_session", "check_response", "sanitize_url"]


class ResponseNotJsonError(SourceDataError):
    """An API answered with a body that is not JSON."""


class Redactor:
    """Replaces every secret of a source's config (and its URL-encoded forms) with ``***``."""

    def __init__(self, config: RestApiConfig) -> None:
        values = secrets_in(config)
        variants = {form for v in values for form in (v, quote(v, safe=""), quote_plus(v))}
        self.secrets = sorted((s for s in variants if len(s) >= 3), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def sanitize_url(url: str | None, redact: Callable[[str], str]) -> str:
    """``url`` with sensitive query values masked (dlt's rule) and every known secret removed."""
    from dlt.sources.helpers.rest_client.redaction import sanitize_url as dlt_sanitize

    return redact(dlt_sanitize(url or ""))


class _LogRedaction(logging.Filter):
    """Masks the secrets of live REST sources in the records of the two loggers that print
    request URLs (urllib3 at DEBUG level, query string included; dlt's REST client)."""

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
_URL_LOGGERS = ("urllib3.connectionpool", "dlt")


def _redact_logs(redact: Redactor) -> None:
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if _LOG_REDACTION not in logger.filters:
            logger.addFilter(_LOG_REDACTION)
    _LOG_REDACTION.redactors.add(redact)


class _RedactingAdapter(HTTPAdapter):
    """requests' transport adapter; a failed request raises the same exception type (so retry
    categories hold) with a message naming the request and free of secrets."""

    def __init__(self, redact: Redactor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.redact = redact

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().send(request, *args, **kwargs)
        except requests.RequestException as exc:
            what = "timed out" if isinstance(exc, requests.Timeout) else "failed"
            detail = self.redact(" ".join(str(exc).split()))
            url = sanitize_url(request.url, self.redact)
            message = f"{request.method} {url} {what}: {detail}"
            raise type(exc)(message, request=exc.request, response=exc.response) from None


def check_response(redact: Callable[[str], str]) -> Callable[[requests.Response], None]:
    """A response action: an HTTP error status raises ``HTTPError`` without secrets (dlt's
    client retries 429 and 5xx from it); a body that is not JSON raises
    :class:`ResponseNotJsonError` naming the request."""

    def check(response: requests.Response) -> None:
        url = sanitize_url(response.url, redact)
        method = response.request.method if response.request is not None else "GET"
        if response.status_code >= 400:
            kind = "Client" if response.status_code < 500 else "Server"
            raise requests.HTTPError(
                f"{response.status_code} {kind} Error: {response.reason} for url: {url}",
                response=response,
            )
        if not response.content:
            return
        try:
            response.json()
        except requests.JSONDecodeError as exc:
            content_type = response.headers.get("Content-Type") or "no content type"
            raise ResponseNotJsonError(
                f"{method} {url} answered HTTP {response.status_code} with a body that is not "
                f"JSON ({content_type}, {len(response.content)} bytes): {exc.msg} at character "
                f"{exc.pos}",
            ) from exc

    return check


def build_session(http: HttpSettings, redact: Redactor) -> requests.Session:
    """dlt's retrying session (429 and 5xx honouring ``Retry-After``, connection errors and
    timeouts) with ``http``'s settings; unset ones come from dlt's runtime config."""
    from dlt.sources.helpers.requests import Client

    explicit: dict[str, Any] = {
        "request_timeout": http.timeout_seconds,
        "request_max_attempts": http.max_attempts,
        "request_backoff_factor": http.backoff_factor,
        "request_max_retry_delay": http.max_retry_delay_seconds,
    }
    client = Client(raise_for_status=False, **{k: v for k, v in explicit.items() if v is not None})
    session: requests.Session = client.session
    adapter = _RedactingAdapter(redact)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    _redact_logs(redact)
    return session
