"""A threaded HTTP server on 127.0.0.1, started and stopped as a context manager."""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from types import TracebackType
from typing import Any, Self

__all__ = ["LoopbackServer"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    quiet: tuple[type[BaseException], ...] = (ConnectionError,)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], self.quiet):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Serves ``handler`` on a free port of 127.0.0.1 while the ``with`` block runs.

    Errors of the ``quiet`` types raised while answering are not printed: by default a peer
    that hung up or was killed, which is what crash and fault tests do.
    """

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        quiet: tuple[type[BaseException], ...] = (ConnectionError,),
    ) -> None:
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.quiet = quiet
        self._thread = Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
