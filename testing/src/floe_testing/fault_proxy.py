"""A reverse proxy on loopback that forwards to one HTTP upstream and fails chosen requests.

A policy sees each request's method and path and decides: ``FORWARD`` it, ``CLOSE`` the
connection without an answer, answer a :class:`Fail` instead of the upstream, or ``LOSE_ANSWER``:
forward it, then close the connection without passing the upstream's answer on (the request took
effect; the client cannot know). The policy is
an attribute, so a test can break and heal the path while a client is using it::

    with FaultProxy(catalog_uri) as proxy:
        proxy.policy = lambda method, path: Fail(503) if method == "POST" else FORWARD
        ...  # the client's commits fail
        proxy.policy = forward_all

Bodies stream in both directions (a multi-gigabyte PUT is never held in memory); the ``Host``
header and every end-to-end header are forwarded unchanged, so AWS SigV4 signatures still verify.
Requests in absolute form (``PUT http://host/key``), as clients send them to a proxy set with
``s3.proxy-uri``, are forwarded to the upstream too.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from floe_testing._loopback import LoopbackServer

__all__ = [
    "CLOSE",
    "FORWARD",
    "LOSE_ANSWER",
    "Decision",
    "Fail",
    "FaultProxy",
    "Policy",
    "forward_all",
]

FORWARD: Final = "forward"
CLOSE: Final = "close"
LOSE_ANSWER: Final = "lose_answer"


@dataclass(frozen=True)
class Fail:
    """Answer ``status`` with ``body`` instead of forwarding (the request body is read first)."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain"


Decision = Fail | Literal["forward", "close", "lose_answer"]
Policy = Callable[[str, str], Decision]  # (method, path with query) -> what to do

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
    }
)
_PIECE = 64 * 1024


def forward_all(method: str, path: str) -> Decision:
    """The healthy policy: forward everything."""
    return FORWARD


@dataclass(frozen=True)
class Seen:
    """One request the proxy handled and what it did with it."""

    method: str
    path: str
    decision: str  # "forward", "close", "lose_answer", or the status answered


class FaultProxy(LoopbackServer):
    """A threaded proxy on 127.0.0.1 in front of ``upstream`` (``http://host:port``)."""

    def __init__(self, upstream: str, policy: Policy = forward_all, timeout: float = 30.0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be http://host:port, got {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.policy = policy
        self.timeout = timeout
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        # a client or upstream that hangs up mid-request is what fault tests do
        super().__init__(_handler(self), quiet=(Exception,))

    @property
    def url(self) -> str:
        return self.address

    @property
    def seen(self) -> list[Seen]:
        """The requests handled so far, in order."""
        with self._lock:
            return list(self._seen)

    def record(self, method: str, path: str, decision: str) -> None:
        with self._lock:
            self._seen.append(Seen(method, path, decision))


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._handle()

        do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET  # noqa: N815

        def _handle(self) -> None:
            path = self.path
            if "://" in path:  # absolute form, sent to a forward proxy
                parts = urlsplit(path)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
            decision = proxy.policy(self.command, path)
            if decision == CLOSE:
                proxy.record(self.command, path, CLOSE)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if isinstance(decision, Fail):
                proxy.record(self.command, path, str(decision.status))
                for _ in self._body():
                    pass
                self._answer(decision.status, decision.body, decision.content_type)
                return
            proxy.record(self.command, path, decision)
            try:
                self._forward(path, relay=decision == FORWARD)
            except OSError:
                self.close_connection = True  # the client left mid-answer

        def _body(self) -> Iterator[bytes]:
            """The request body, piece by piece, in the framing the client chose."""
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                while True:
                    size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return
                    yield from _read(self.rfile, size)
                    self.rfile.readline()
            else:
                yield from _read(self.rfile, int(self.headers.get("Content-Length") or 0))

        def _forward(self, path: str, relay: bool) -> None:
            upstream = http.client.HTTPConnection(
                proxy.upstream_host, proxy.upstream_port, timeout=proxy.timeout
            )
            try:
                upstream.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in _HOP_BY_HOP:
                        upstream.putheader(name, value)
                upstream.endheaders()
                chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
                for piece in self._body():
                    upstream.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                if chunked:
                    upstream.send(b"0\r\n\r\n")
                response = upstream.getresponse()
            except OSError as exc:
                upstream.close()
                self._answer(502, f"upstream unreachable: {exc}".encode(), "text/plain")
                return
            try:
                if relay:
                    self._relay(response)
                else:
                    response.read()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
            finally:
                upstream.close()

        def _relay(self, response: http.client.HTTPResponse) -> None:
            length = response.getheader("Content-Length")
            bodiless = self.command == "HEAD" or response.status in (204, 304)
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "transfer-encoding":
                    self.send_header(name, value)
            if length is None and not bodiless:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if bodiless:
                return
            sent = 0
            while piece := response.read1(_PIECE):
                sent += len(piece)
                self.wfile.write(piece if length else b"%x\r\n%s\r\n" % (len(piece), piece))
            if length is None:
                self.wfile.write(b"0\r\n\r\n")
            elif sent < int(length):
                self.close_connection = True  # the upstream cut the body short: so do we

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                self.close_connection = True  # the client left

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _read(stream: Any, size: int) -> Iterator[bytes]:
    while size > 0:
        piece = stream.read(min(size, _PIECE))
        if not piece:
            raise ConnectionError("the client closed the connection mid-body")
        size -= len(piece)
        yield piece
