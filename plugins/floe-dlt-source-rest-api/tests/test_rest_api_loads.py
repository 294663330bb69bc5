"""REST sources against a real HTTP server on 127.0.0.1, read back from the Iceberg tables."""

from __future__ import annotations

import json
import logging
import re
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from floe_core.health import HealthState
from floe_dlt_source_rest_api import ResponseNotJsonError, RestApiConfig
from floe_ingestion_dlt import ErrorCategory, IngestionError, categorize_error
from floe_ingestion_dlt.errors import root_cause
from floe_ingestion_dlt.plugins import get_source_type
from floe_ingestion_dlt.types import SourceContext
from floe_testing.fixtures.ingestion import FloeProject
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

#: Bounded HTTP retries without backoff sleeps, so failures are fast.
FAST_HTTP = {"timeout_seconds": 5, "max_attempts": 3, "backoff_factor": 0}
ITEMS = [{"id": i, "name": f"item {i}"} for i in range(1, 11)]
SECRET = "s3cr3t-Tok/en+42"

Handler = Callable[[Request], Response]


def reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


class RestProject:
    """A floe project with one ``rest_api`` source ``api`` reading from ``server``."""

    def __init__(self, project: FloeProject, server: HTTPServer) -> None:
        self.project = project
        self.server = server

    def url(self, path: str = "/") -> str:
        return self.server.url_for(path)

    def write(
        self,
        config: dict[str, Any],
        *,
        retry: dict[str, Any] | None = None,
        base_url: str | None = None,
    ) -> RestProject:
        client = {"base_url": base_url or self.url(), **config.get("client", {})}
        source = {
            "name": "api",
            "type": "rest_api",
            "config": {"http": FAST_HTTP, **config, "client": client},
            "destination": {"namespace": "bronze"},
        }
        document = {
            "retry": retry or {"max_retries": 0, "initial_delay_seconds": 0},
            "ingestion": {"sources": [source]},
        }
        self.project.write(yaml.safe_dump(document, sort_keys=False))
        return self

    def serve(self, path: str | re.Pattern[str], handler: Handler) -> None:
        self.server.expect_request(path).respond_with_handler(handler)

    def run(self) -> Any:
        return self.project.run()

    def fail(self) -> IngestionError:
        with pytest.raises(IngestionError) as caught:
            self.project.run()
        return caught.value

    def ids(self, table: str) -> list[int]:
        return sorted(self.project.read(f"bronze.{table}")["id"].to_pylist())

    def args(self, path: str, name: str) -> list[str | None]:
        return [r.args.get(name) for r, _ in self.server.log if r.path == path]


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    """An HTTP server on 127.0.0.1; threaded, so a slow answer blocks no other request."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(server: HTTPServer) -> HTTPServer:
    """The server with no handlers and an empty request log."""
    server.clear()
    return server


@pytest.fixture
def rest(floe_project: FloeProject, api: HTTPServer) -> RestProject:
    return RestProject(floe_project, api)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# --- pagination -----------------------------------------------------------------------------


def _json_link(rest: RestProject) -> Handler:
    def handle(request: Request) -> Response:
        page = int(request.args.get("page", "1"))
        more = page * 4 < len(ITEMS)
        next_url = rest.url(f"/items?page={page + 1}") if more else None
        return reply({"data": ITEMS[(page - 1) * 4 : page * 4], "next": next_url})

    return handle


def _header_link(rest: RestProject) -> Handler:
    def handle(request: Request) -> Response:
        page = int(request.args.get("page", "1"))
        link = f'<{rest.url(f"/items?page={page + 1}")}>; rel="next"'
        headers = {"Link": link} if page * 4 < len(ITEMS) else {}
        return reply(ITEMS[(page - 1) * 4 : page * 4], headers=headers)

    return handle


def _page_number(rest: RestProject) -> Handler:
    def handle(request: Request) -> Response:
        page = int(request.args["page"])
        return reply({"items": ITEMS[(page - 1) * 4 : page * 4], "total_pages": 3})

    return handle


def _offset(rest: RestProject) -> Handler:
    def handle(request: Request) -> Response:
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        return reply({"items": ITEMS[offset : offset + limit], "total": len(ITEMS)})

    return handle


PAGINATION: dict[str, tuple[Any, str | None, Callable[[RestProject], Handler], str, list[Any]]] = {
    "json_link": (
        {"type": "json_link", "next_url_path": "next"},
        "data",
        _json_link,
        "page",
        [None, "2", "3"],
    ),
    "header_link": ("header_link", None, _header_link, "page", [None, "2", "3"]),
    "page_number": (
        {"type": "page_number", "base_page": 1, "total_path": "total_pages"},
        "items",
        _page_number,
        "page",
        ["1", "2", "3"],
    ),
    "offset": (
        {"type": "offset", "limit": 4, "total_path": "total"},
        "items",
        _offset,
        "offset",
        ["0", "4", "8"],
    ),
}


@pytest.mark.parametrize("style", sorted(PAGINATION))
def test_pagination_reads_every_page(rest: RestProject, style: str) -> None:
    paginator, selector, handler, arg, pages = PAGINATION[style]
    rest.serve("/items", handler(rest))
    endpoint = {"path": "items", "paginator": paginator}
    if selector:
        endpoint["data_selector"] = selector
    rest.write({"resources": [{"name": "items", "endpoint": endpoint}]})

    run = rest.run()

    assert run.rows_per_table == {"bronze.items": 10}
    assert rest.ids("items") == list(range(1, 11))
    assert rest.args("/items", arg) == pages


# --- auth and secrets -----------------------------------------------------------------------

AUTH: dict[str, tuple[dict[str, Any], Callable[[Request], bool]]] = {
    "bearer": (
        {"type": "bearer", "token": "${API_SECRET}"},
        lambda r: r.headers.get("Authorization") == f"Bearer {SECRET}",
    ),
    "api_key_header": (
        {"type": "api_key", "name": "X-Api-Key", "api_key": "${API_SECRET}"},
        lambda r: r.headers.get("X-Api-Key") == SECRET,
    ),
    "api_key_query": (
        {"type": "api_key", "name": "access", "api_key": "${API_SECRET}", "location": "query"},
        lambda r: r.args.get("access") == SECRET,
    ),
    "http_basic": (
        {"type": "http_basic", "username": "floe", "password": "${API_SECRET}"},
        lambda r: r.authorization is not None and r.authorization.password == SECRET,
    ),
}


@pytest.mark.parametrize("kind", sorted(AUTH))
def test_auth_sends_the_secret_and_never_shows_it(
    rest: RestProject,
    kind: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    auth, accepts = AUTH[kind]
    monkeypatch.setenv("API_SECRET", SECRET)
    # The test server's own access log shows query strings; only the client side matters here.
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="dlt")
    dlt_logger = logging.getLogger("dlt")  # dlt logs to its own handler, not to the root
    dlt_logger.addHandler(caplog.handler)
    request.addfinalizer(lambda: dlt_logger.removeHandler(caplog.handler))
    open_for = {"credentials": True}

    def handle(incoming: Request) -> Response:
        if open_for["credentials"] and accepts(incoming):
            return reply({"items": ITEMS[:3]})
        return reply({"error": "not this time"}, status=403)

    rest.serve("/items", handle)
    rest.write({"client": {"auth": auth}, "resources": [{"name": "items", "endpoint": "items"}]})
    assert rest.run().rows_per_table == {"bronze.items": 3}
    assert rest.ids("items") == [1, 2, 3]

    open_for["credentials"] = False  # the same request is now refused: the error path
    error = rest.fail()
    assert "403 Client Error" in str(error)
    assert error.category is ErrorCategory.PERMANENT
    assert any("GET request to" in r.getMessage() for r in caplog.records if r.name == "dlt")

    captured = capfd.readouterr()
    logged = [record.getMessage() for record in caplog.records]
    for text in [str(error), captured.out, captured.err, *logged]:
        assert SECRET not in text
        assert "s3cr3t" not in text


def test_connection_error_hides_a_query_api_key(rest: RestProject) -> None:
    auth = {"type": "api_key", "name": "sig", "api_key": SECRET, "location": "query"}
    rest.write(
        {
            "client": {"auth": auth},
            "resources": ["items"],
            "http": {"max_attempts": 1, "timeout_seconds": 2},
        },
        base_url=closed_port_url(),
    )
    error = rest.fail()
    assert error.category is ErrorCategory.TRANSIENT
    assert "source 'api' (rest_api)" in str(error)
    assert "ConnectionError" in str(error)
    assert "s3cr3t" not in str(error)


# --- incremental, parents and children, nested lists -----------------------------------------


def test_incremental_param_resumes_from_the_last_cursor(rest: RestProject) -> None:
    events: list[dict[str, Any]] = [
        {"id": i, "updated_at": f"2024-01-0{i}T00:00:00Z"} for i in (1, 2, 3)
    ]

    def handle(request: Request) -> Response:
        since = request.args["since"]
        return reply([e for e in events if e["updated_at"] >= since])

    rest.serve("/events", handle)
    since = {"type": "incremental", "cursor_path": "updated_at"}
    endpoint = {
        "path": "events",
        "params": {"since": {**since, "initial_value": "2024-01-01T00:00:00Z"}},
        "paginator": "single_page",
    }
    rest.write({"resources": [{"name": "events", "endpoint": endpoint, "primary_key": "id"}]})

    assert rest.run().rows_loaded == 3
    events += [{"id": i, "updated_at": f"2024-01-0{i}T00:00:00Z"} for i in (4, 5)]
    assert rest.run().rows_loaded == 2

    assert rest.args("/events", "since") == ["2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z"]
    assert rest.ids("events") == [1, 2, 3, 4, 5]

    # Without the local pipeline folder the cursor comes back from the destination.
    shutil.rmtree(rest.project.root / ".floe" / "pipelines")
    events.append({"id": 6, "updated_at": "2024-01-06T00:00:00Z"})
    assert rest.run().rows_loaded == 1
    assert rest.args("/events", "since")[-1] == "2024-01-05T00:00:00Z"
    assert rest.ids("events") == [1, 2, 3, 4, 5, 6]


def test_children_read_per_parent_and_nested_lists_become_child_tables(
    rest: RestProject,
) -> None:
    users = [{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}]

    def posts(request: Request) -> Response:
        user = int(request.path.split("/")[2])
        return reply([{"id": user * 10 + j, "tags": ["x", "y"]} for j in (1, 2)])

    rest.serve("/users", lambda _: reply(users))
    rest.serve(re.compile(r"^/users/\d+/posts$"), posts)
    child = {
        "name": "posts",
        "endpoint": {"path": "users/{resources.users.id}/posts", "paginator": "single_page"},
        "include_from_parent": ["name"],
    }
    rest.write(
        {
            "resource_defaults": {"endpoint": {"paginator": "single_page"}},
            "resources": ["users", child],
        }
    )

    run = rest.run()

    assert run.rows_per_table == {"bronze.users": 2, "bronze.posts": 4, "bronze.posts__tags": 8}
    assert rest.ids("users") == [1, 2]
    table = rest.project.read("bronze.posts").sort_by("id").to_pylist()
    assert [(p["id"], p["_users_name"]) for p in table] == [
        (11, "ada"),
        (12, "ada"),
        (21, "bob"),
        (22, "bob"),
    ]
    tags = rest.project.read("bronze.posts__tags")
    assert sorted(tags["value"].to_pylist()) == ["x"] * 4 + ["y"] * 4
    assert set(tags["_dlt_parent_id"].to_pylist()) == set(
        rest.project.read("bronze.posts")["_dlt_id"].to_pylist()
    )


# --- failures and retries ---------------------------------------------------------------------


def _paged(fail: dict[int, list[Response]], seen: list[tuple[int, float]]) -> Handler:
    """Pages 1-3 of ITEMS; page ``n`` first answers with ``fail[n]``, in order."""

    def handle(request: Request) -> Response:
        page = int(request.args["page"])
        seen.append((page, time.monotonic()))
        if fail.get(page):
            return fail[page].pop(0)
        return reply({"items": ITEMS[(page - 1) * 4 : page * 4], "total_pages": 3})

    return handle


PAGED = {
    "path": "items",
    "data_selector": "items",
    "paginator": {"type": "page_number", "base_page": 1, "total_path": "total_pages"},
}


def test_429_and_503_are_retried_and_every_item_lands_once(rest: RestProject) -> None:
    seen: list[tuple[int, float]] = []
    busy = Response("slow down", status=429, headers={"Retry-After": "1"})
    rest.serve("/items", _paged({2: [busy], 3: [Response("down", status=503)]}, seen))
    rest.write({"resources": [{"name": "items", "endpoint": PAGED}]})

    assert rest.run().rows_loaded == 10

    assert rest.ids("items") == list(range(1, 11))
    assert [page for page, _ in seen] == [1, 2, 2, 3, 3]
    assert seen[2][1] - seen[1][1] >= 0.9  # waited as Retry-After asked


def test_503_beyond_the_client_retries_reruns_the_source_without_duplicates(
    rest: RestProject,
) -> None:
    seen: list[tuple[int, float]] = []
    down = [Response("down", status=503), Response("down", status=503)]
    rest.serve("/items", _paged({2: down}, seen))
    rest.write(
        {
            "resources": [{"name": "items", "endpoint": PAGED}],
            "http": {**FAST_HTTP, "max_attempts": 2},
        },
        retry={"max_retries": 1, "initial_delay_seconds": 0},
    )

    assert rest.run().rows_loaded == 10

    assert rest.ids("items") == list(range(1, 11))
    assert [page for page, _ in seen] == [1, 2, 2, 1, 2, 3]


def test_401_fails_at_once_as_permanent(rest: RestProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_SECRET", SECRET)
    rest.serve("/items", lambda _: reply({"error": "bad token"}, status=401))
    rest.write(
        {"client": {"auth": {"token": "${API_SECRET}"}}, "resources": ["items"]},
        retry={"max_retries": 3, "initial_delay_seconds": 0},
    )

    error = rest.fail()

    assert error.category is ErrorCategory.PERMANENT
    assert categorize_error(error) is ErrorCategory.PERMANENT
    message = str(error)
    assert "\n" not in message
    assert message.startswith("source 'api' (rest_api) -> bronze.*: extract failed: HTTPError: 401")
    assert SECRET not in message
    assert len(rest.server.log) == 1


def test_a_body_that_is_not_json_is_a_clear_permanent_error(rest: RestProject) -> None:
    page = Response("<html><body>maintenance</body></html>", mimetype="text/html")
    rest.serve("/items", lambda _: page)
    rest.write({"resources": ["items"]}, retry={"max_retries": 2, "initial_delay_seconds": 0})

    error = rest.fail()

    assert error.category is ErrorCategory.PERMANENT
    assert isinstance(root_cause(error.__cause__ or error), ResponseNotJsonError)
    message = str(error)
    assert message.startswith("source 'api' (rest_api) -> bronze.*: extract failed: ")
    assert f"GET {rest.url('/items')} answered HTTP 200 with a body that is not JSON" in message
    assert "text/html" in message
    assert len(rest.server.log) == 1


def test_a_timeout_is_a_clear_transient_error(rest: RestProject) -> None:
    arrived: list[float] = []

    def slow(request: Request) -> Response:
        arrived.append(time.monotonic())
        time.sleep(0.6)
        return reply([])

    rest.serve("/items", slow)
    rest.write({"resources": ["items"], "http": {"timeout_seconds": 0.2, "max_attempts": 2}})

    started = time.monotonic()
    error = rest.fail()

    assert time.monotonic() - started < 60  # the client gave up: the run did not hang
    assert error.category is ErrorCategory.TRANSIENT
    message = str(error)
    assert message.startswith("source 'api' (rest_api) -> bronze.*: extract failed: ReadTimeout: ")
    assert f"GET {rest.url('/items')} timed out" in message
    assert len(arrived) == 2  # the client's own retry, then the error
    deadline = time.monotonic() + 5
    while len(rest.server.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # let the slow answers finish before the next test


# --- health ---------------------------------------------------------------------------------


def test_health_check(rest: RestProject) -> None:
    source = get_source_type("rest_api")
    context = SourceContext(source_name="api", project_dir=".")
    up = RestApiConfig.model_validate({"client": {"base_url": rest.url()}, "resources": ["x"]})
    down = RestApiConfig.model_validate(
        {"client": {"base_url": closed_port_url()}, "resources": ["x"]}
    )

    rest.serve("/x", lambda _: reply([{"id": 1}]))

    healthy = source.health_check(up, context, timeout=2.0)
    unhealthy = source.health_check(down, context, timeout=2.0)

    assert healthy.state is HealthState.HEALTHY, healthy.message
    assert healthy.message == "rest_api: first page of x answered"
    assert unhealthy.state is HealthState.UNHEALTHY
    assert unhealthy.message.startswith("resource 'x': ConnectionError: GET ")
