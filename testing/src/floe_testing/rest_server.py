"""An items API on loopback for load, crash, fault and benchmark runs.

``GET /items?page=P&page_size=S[&since=ISO]`` answers ``{"items": [...], "total_pages": T}``
with items ``{"id", "name", "amount", "updated_at"}``; item ``i`` was updated ``i`` seconds after
2024-01-01, so ``since`` selects a suffix of the ids and an incremental cursor on ``updated_at``
resumes exactly where the last run stopped. Items are computed, not stored, so a million cost
nothing until asked for.

A :class:`Faults` plan makes a share of requests answer 429 or 503, or stall past the client's
timeout; a ``token`` makes every request without ``Authorization: Bearer <token>`` answer 401.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from floe_testing._loopback import LoopbackServer

__all__ = ["EPOCH", "Faults", "ItemsServer", "item", "rest_source", "updated_at"]

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def updated_at(item_id: int) -> str:
    return (EPOCH + timedelta(seconds=item_id)).strftime("%Y-%m-%dT%H:%M:%SZ")


def item(item_id: int) -> dict[str, Any]:
    return {
        "id": item_id,
        "name": f"item {item_id}",
        "amount": round(item_id * 0.25, 2),
        "updated_at": updated_at(item_id),
    }


@dataclass
class Faults:
    """Answer ``rate`` of the requests with a fault: 429, 503 or a stall of ``stall_seconds``."""

    rate: float = 0.3
    seed: int = 7
    stall_seconds: float = 1.0
    kinds: tuple[str, ...] = ("429", "503", "stall")
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # nosec B311  # seeded test data, not a secret
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            self.injected[kind] += 1
            return kind


class ItemsServer(LoopbackServer):
    """A threaded HTTP server on 127.0.0.1 serving ``items`` items; a context manager."""

    def __init__(
        self,
        items: int,
        *,
        faults: Faults | None = None,
        token: str | None = None,
    ) -> None:
        self.items = items
        self.faults = faults
        self.token = token
        self.requests = 0
        self.served: Counter[int] = Counter()  # item id -> times sent in a 200 answer
        self._lock = threading.Lock()
        super().__init__(_handler(self))

    @property
    def url(self) -> str:
        return f"{self.address}/"

    def page(self, query: dict[str, list[str]]) -> tuple[bytes, list[int]]:
        """The body for one page and the ids in it."""
        size = int(query.get("page_size", ["1000"])[0])
        page = int(query.get("page", ["1"])[0])
        first = 1
        if "since" in query:
            since = datetime.fromisoformat(query["since"][0].replace("Z", "+00:00"))
            first = max(1, int((since - EPOCH).total_seconds()))
        count = max(0, self.items - first + 1)
        start = first + (page - 1) * size
        ids = list(range(start, min(start + size, self.items + 1)))
        body = {"items": [item(i) for i in ids], "total_pages": max(1, -(-count // size))}
        return json.dumps(body).encode(), ids


def _handler(api: ItemsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._send(*self._answer())

        def _answer(self) -> tuple[int, bytes, dict[str, str]]:
            with api._lock:
                api.requests += 1
            url = urlsplit(self.path)
            if url.path.rstrip("/") == "" or url.path == "/health":
                return 200, b'{"ok": true}', {}
            if url.path != "/items":
                return 404, b'{"error": "not found"}', {}
            if api.token is not None and self.headers.get("Authorization") != f"Bearer {api.token}":
                return 401, b'{"error": "invalid token"}', {}
            fault = api.faults.draw() if api.faults else None
            if fault == "429":
                return 429, b'{"error": "slow down"}', {"Retry-After": "0"}
            if fault == "503":
                return 503, b'{"error": "unavailable"}', {}
            if fault == "stall" and api.faults:
                time.sleep(api.faults.stall_seconds)
            body, ids = api.page(parse_qs(url.query))
            if fault != "stall":  # a stalled answer arrives after the client gave up on it
                with api._lock:
                    api.served.update(ids)
            return 200, body, {}

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def rest_source(
    base_url: str,
    *,
    name: str = "api",
    namespace: str = "bronze",
    page_size: int = 1000,
    incremental: bool = True,
    http: dict[str, Any] | None = None,
    token_env: str | None = None,
) -> dict[str, Any]:
    """A ``floe.yaml`` source reading ``/items`` of an :class:`ItemsServer`."""
    params: dict[str, Any] = {"page_size": page_size}
    if incremental:
        params["since"] = {
            "type": "incremental",
            "cursor_path": "updated_at",
            "initial_value": updated_at(0),
        }
    endpoint = {
        "path": "items",
        "params": params,
        "data_selector": "items",
        "paginator": {"type": "page_number", "base_page": 1, "total_path": "total_pages"},
    }
    client: dict[str, Any] = {"base_url": base_url}
    if token_env:
        client["auth"] = {"token": f"${{{token_env}}}"}
    config: dict[str, Any] = {
        "client": client,
        "resources": [{"name": "items", "endpoint": endpoint, "primary_key": "id"}],
    }
    if http:
        config["http"] = http
    return {
        "name": name,
        "type": "rest_api",
        "config": config,
        "destination": {"namespace": namespace, "write_mode": "append"},
    }
