"""Errors as a user expects them from a REST source, against a real HTTP server on 127.0.0.1:
refused credentials are permanent and not retried, a missing endpoint is configuration, a
``data_selector`` that selects nothing is said out loud, and ``floe ingest check`` requests each
resource's first page."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from floe_core.health import HealthState
from floe_dlt_source_rest_api.checks import DataSelectorMatchedNothingError
from floe_ingestion_dlt import ErrorCategory, IngestionError
from floe_ingestion_dlt.errors import categorize_error, root_cause
from floe_ingestion_dlt.plugins import get_source_type
from floe_ingestion_dlt.types import SourceContext
from floe_testing.fixtures.ingestion import FloeProject
from pytest_httpserver import HTTPServer
from structlog.testing import capture_logs
from werkzeug import Request, Response

SECRET = "s3cr3t-Tok/en+42"
#: floe retries a transient failure after 5 s; a failure that returns sooner was not retried
RETRY = {"max_retries": 1, "initial_delay_seconds": 5}
ITEMS = [{"id": i} for i in range(1, 6)]


def reply(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@pytest.fixture
def api() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


def write(project: FloeProject, api: HTTPServer, config: dict[str, Any]) -> None:
    source = {
        "name": "api",
        "type": "rest_api",
        "config": {**config, "client": {"base_url": api.url_for("/"), **config.get("client", {})}},
        "destination": {"namespace": "bronze"},
    }
    document = {"retry": RETRY, "ingestion": {"sources": [source]}}
    project.write(yaml.safe_dump(document, sort_keys=False))


def answer(body: Any, status: int, arrivals: list[float]) -> Callable[[Request], Response]:
    def handle(request: Request) -> Response:
        arrivals.append(time.monotonic())
        return reply(body, status)

    return handle


def fail(project: FloeProject, arrivals: list[float]) -> tuple[IngestionError, float]:
    """The run's error, and the seconds from the first request to the failure."""
    with pytest.raises(IngestionError) as caught:
        project.run()
    return caught.value, time.monotonic() - arrivals[0]


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_permanent_and_not_retried(
    floe_project: FloeProject, api: HTTPServer, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_SECRET", SECRET)
    arrivals: list[float] = []
    api.expect_request("/items").respond_with_handler(answer({"error": "no"}, status, arrivals))
    write(
        floe_project, api, {"client": {"auth": {"token": "${API_SECRET}"}}, "resources": ["items"]}
    )

    error, _ = fail(floe_project, arrivals)

    assert error.category is ErrorCategory.PERMANENT
    assert categorize_error(error) is ErrorCategory.PERMANENT
    assert str(error).startswith(
        f"source 'api' (rest_api) -> bronze.*: extract failed: HTTPError: {status}"
    )
    assert SECRET not in str(error)
    assert len(api.log) == 1  # neither the HTTP client nor floe asked again


def test_a_missing_endpoint_is_a_configuration_error(
    floe_project: FloeProject, api: HTTPServer
) -> None:
    arrivals: list[float] = []
    api.expect_request("/itemz").respond_with_handler(answer({"error": "none"}, 404, arrivals))
    write(floe_project, api, {"resources": ["itemz"]})

    error, _ = fail(floe_project, arrivals)

    assert error.category is ErrorCategory.CONFIGURATION
    assert str(error).startswith(
        "source 'api' (rest_api) -> bronze.*: extract failed: HTTPError: 404"
    )
    assert len(api.log) == 1


def _selector_config(api: HTTPServer) -> dict[str, Any]:
    api.expect_request("/items").respond_with_json({"data": {"rows": ITEMS}, "total": 5})
    return {
        "resources": [{"name": "items", "endpoint": {"path": "items", "data_selector": "rows"}}]
    }


def test_a_data_selector_that_matches_nothing_warns_naming_the_resource(
    floe_project: FloeProject, api: HTTPServer
) -> None:
    write(floe_project, api, _selector_config(api))

    with capture_logs() as logs:
        run = floe_project.run()

    assert run.rows_loaded == 0
    warnings = [e for e in logs if e["event"] == "data_selector_matched_nothing"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["source"] == "api"
    assert warnings[0]["resource"] == "items"
    assert warnings[0]["data_selector"] == "rows"


def test_a_data_selector_that_matches_is_silent(floe_project: FloeProject, api: HTTPServer) -> None:
    api.expect_request("/items").respond_with_json({"data": {"rows": ITEMS}})
    write(
        floe_project,
        api,
        {
            "resources": [
                {"name": "items", "endpoint": {"path": "items", "data_selector": "data.rows"}}
            ]
        },
    )

    with capture_logs() as logs:
        run = floe_project.run()

    assert run.rows_loaded == 5
    assert not [e for e in logs if e["event"] == "data_selector_matched_nothing"]


def test_strict_makes_an_empty_selection_a_failure_of_the_source(
    floe_project: FloeProject, api: HTTPServer
) -> None:
    write(floe_project, api, _selector_config(api))

    with pytest.raises(IngestionError) as caught:
        floe_project.run(strict=True)

    error = caught.value
    assert error.category is ErrorCategory.CONFIGURATION
    assert isinstance(root_cause(error.__cause__ or error), DataSelectorMatchedNothingError)
    assert str(error) == (
        "source 'api' (rest_api) -> bronze.*: extract failed: DataSelectorMatchedNothingError: "
        f"resource 'items': data_selector 'rows' matched nothing in the non-empty response of "
        f"{api.url_for('/items')}; fix the selector (strict mode fails the source)"
    )


# --- floe ingest check ----------------------------------------------------------------------


def _check(api: HTTPServer, config: dict[str, Any]) -> tuple[HealthState, str]:
    source_type = get_source_type("rest_api")
    client = {"base_url": api.url_for("/"), **config.get("client", {})}
    model = source_type.config_model.model_validate({**config, "client": client})
    status = source_type.health_check(model, SourceContext("api", "."), timeout=2.0)
    return status.state, status.message


def test_check_requests_the_first_page_of_every_resource(api: HTTPServer) -> None:
    def pages(request: Request) -> Response:
        page = int(request.args.get("page", "1"))
        return reply({"items": ITEMS if page == 1 else [], "next": page + 1})

    api.expect_request("/items").respond_with_handler(pages)
    api.expect_request("/users").respond_with_json([{"id": 1}])

    state, message = _check(
        api,
        {
            "client": {
                "paginator": {"type": "page_number", "base_page": 1, "total_path": None},
            },
            "resources": ["items", "users"],
        },
    )

    assert state is HealthState.HEALTHY, message
    assert message == "rest_api: first page of items, users answered"
    assert [r.path for r, _ in api.log] == ["/items", "/users"]  # one page each


def test_check_names_the_resource_whose_endpoint_is_missing(api: HTTPServer) -> None:
    api.expect_request("/items").respond_with_json([{"id": 1}])
    api.expect_request("/userz").respond_with_json({"error": "not found"}, status=404)

    state, message = _check(api, {"resources": ["items", "userz"]})

    assert state is HealthState.UNHEALTHY
    assert message.startswith("resource 'userz': HTTPError: 404 Client Error")
    assert "items" not in message


def test_check_uses_the_auth_and_names_the_refusal(
    api: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def guarded(request: Request) -> Response:
        if request.headers.get("Authorization") == f"Bearer {SECRET}":
            return reply([{"id": 1}])
        return reply({"error": "no"}, status=401)

    api.expect_request("/items").respond_with_handler(guarded)

    ok, _ = _check(api, {"client": {"auth": {"token": SECRET}}, "resources": ["items"]})
    state, message = _check(api, {"client": {"auth": {"token": "wrong"}}, "resources": ["items"]})

    assert ok is HealthState.HEALTHY
    assert state is HealthState.UNHEALTHY
    assert message.startswith("resource 'items': HTTPError: 401 Client Error")
    assert SECRET not in message
