"""pyiceberg's REST catalog with a timeout on every request: pyiceberg sets none, so a catalog
that accepts connections but never answers would hang a load forever."""

from __future__ import annotations

from pyiceberg.catalog.rest import RestCatalog
from requests import PreparedRequest, Response, Session
from requests.adapters import HTTPAdapter

__all__ = ["TIMEOUT_PROPERTY", "TimeoutRestCatalog"]

TIMEOUT_PROPERTY = "floe.request-timeout-seconds"  # a catalog property, as a number of seconds
_DEFAULT_TIMEOUT_SECONDS = 60.0


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        timeout = self.timeout if timeout is None else timeout
        return super().send(request, stream, timeout, verify, cert, proxies)


class TimeoutRestCatalog(RestCatalog):
    """A REST catalog whose requests fail with ``requests.Timeout`` (a transient error) after
    ``floe.request-timeout-seconds`` (default 60) without an answer."""

    def _config_headers(self, session: Session) -> None:
        # called first on every session pyiceberg creates, before its first request
        super()._config_headers(session)
        adapter = _TimeoutAdapter(
            float(self.properties.get(TIMEOUT_PROPERTY, _DEFAULT_TIMEOUT_SECONDS))
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
