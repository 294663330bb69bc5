"""dlt's documented rest_api configurations, pasted under ``config:`` unchanged, each loading
from a real HTTP server on 127.0.0.1 that serves what the config expects; read back from Iceberg."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from floe_ingestion_dlt import PipelineConfigurationError
from floe_testing.fixtures.ingestion import FloeProject
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SECRET = "cl1ent-s3cret-Value"


def reply(body: Any, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


@pytest.fixture
def api() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


def write(
    project: FloeProject, config: dict[str, Any], destination: dict[str, Any] | None = None
) -> None:
    source = {
        "name": "api",
        "type": "rest_api",
        "config": config,
        "destination": destination or {"namespace": "bronze"},
    }
    document = {"retry": {"max_retries": 0}, "ingestion": {"sources": [source]}}
    project.write(yaml.safe_dump(document, sort_keys=False))


def rows(project: FloeProject, table: str) -> list[dict[str, Any]]:
    return sorted(project.read(f"bronze.{table}").to_pylist(), key=lambda r: r["id"])


def test_resource_defaults_merge_with_one_resource_appending(
    floe_project: FloeProject, api: HTTPServer
) -> None:
    """The issue's example: ``resource_defaults`` merge on ``id``, one resource appends; a
    GitHub-style API with a bearer token and ``Link`` header pages."""
    version = {"n": 1}

    def issues(request: Request) -> Response:
        assert request.headers["Authorization"] == f"Bearer {SECRET}"
        page = int(request.args.get("page", "1"))
        link = {"Link": f'<{api.url_for("/issues")}?page=2>; rel="next"'} if page == 1 else {}
        batch = [{"id": i, "title": f"v{version['n']}"} for i in ((1, 2) if page == 1 else (3,))]
        return reply(batch, headers=link)

    api.expect_request("/issues").respond_with_handler(issues)
    api.expect_request("/events").respond_with_json([{"id": 1}, {"id": 2}])
    write(
        floe_project,
        {
            "client": {
                "base_url": api.url_for("/"),
                "auth": {"type": "bearer", "token": SECRET},
                "paginator": "header_link",
            },
            "resource_defaults": {
                "primary_key": "id",
                "write_disposition": {"disposition": "merge", "strategy": "upsert"},
            },
            "resources": ["issues", {"name": "events", "write_disposition": "append"}],
        },
    )

    floe_project.run()
    version["n"] = 2
    floe_project.run()

    assert [(r["id"], r["title"]) for r in rows(floe_project, "issues")] == [
        (1, "v2"),
        (2, "v2"),
        (3, "v2"),
    ]
    assert [r["id"] for r in rows(floe_project, "events")] == [1, 1, 2, 2]


def test_merge_with_a_resource_level_primary_key_only(
    floe_project: FloeProject, api: HTTPServer
) -> None:
    items = [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]
    api.expect_request("/stock").respond_with_handler(lambda _: reply(items))
    write(
        floe_project,
        {
            "client": {"base_url": api.url_for("/"), "paginator": "single_page"},
            "resources": [{"name": "stock", "primary_key": "sku"}],
        },
        {"namespace": "bronze", "write_mode": "merge"},
    )

    floe_project.run()
    items[0]["qty"] = 5
    floe_project.run()

    table = floe_project.read("bronze.stock").to_pylist()
    assert sorted((r["sku"], r["qty"]) for r in table) == [("a", 5), ("b", 2)]


def test_merge_without_any_primary_key_is_refused(
    floe_project: FloeProject, api: HTTPServer
) -> None:
    write(
        floe_project,
        {"client": {"base_url": api.url_for("/")}, "resources": ["stock"]},
        {"namespace": "bronze", "write_mode": "merge"},
    )

    with pytest.raises(PipelineConfigurationError) as caught:
        floe_project.run()

    assert str(caught.value) == (
        "source 'api' (rest_api): config.resources: resource 'stock' is merged but has no "
        "primary_key; set primary_key on the resource, in resource_defaults, or "
        "destination.primary_key"
    )
    assert not api.log


def test_oauth2_client_credentials(floe_project: FloeProject, api: HTTPServer) -> None:
    def token(request: Request) -> Response:
        form = request.form
        if (form.get("client_id"), form.get("client_secret")) != ("floe", SECRET):
            return reply({"error": "invalid_client"}, status=401)
        return reply({"access_token": "acc-123", "expires_in": 3600})

    def orders(request: Request) -> Response:
        if request.headers.get("Authorization") != "Bearer acc-123":
            return reply({"error": "no"}, status=401)
        return reply({"data": [{"id": 1}, {"id": 2}]})

    api.expect_request("/oauth/token", method="POST").respond_with_handler(token)
    api.expect_request("/orders").respond_with_handler(orders)
    write(
        floe_project,
        {
            "client": {
                "base_url": api.url_for("/"),
                "auth": {
                    "type": "oauth2_client_credentials",
                    "access_token_url": api.url_for("/oauth/token"),
                    "client_id": "floe",
                    "client_secret": SECRET,
                },
            },
            "resources": [{"name": "orders", "endpoint": {"data_selector": "data"}}],
        },
    )

    assert floe_project.run().rows_loaded == 2
    assert [r["id"] for r in rows(floe_project, "orders")] == [1, 2]


def test_processing_steps_name_functions_next_to_floe_yaml(
    floe_project: FloeProject, api: HTTPServer
) -> None:
    (floe_project.root / "steps.py").write_text(
        textwrap.dedent(
            """
            def paid(item):
                return item["status"] == "paid"

            def with_total(item):
                return {**item, "total": item["qty"] * item["price"]}
            """
        ),
        encoding="utf-8",
    )
    orders = [
        {"id": 1, "status": "paid", "qty": 2, "price": 3},
        {"id": 2, "status": "open", "qty": 1, "price": 1},
        {"id": 3, "status": "paid", "qty": 1, "price": 7},
    ]
    api.expect_request("/orders").respond_with_json(orders)
    write(
        floe_project,
        {
            "client": {"base_url": api.url_for("/"), "paginator": "single_page"},
            "resources": [
                {
                    "name": "orders",
                    "processing_steps": [{"filter": "steps:paid"}, {"map": "steps:with_total"}],
                }
            ],
        },
    )

    floe_project.run()

    assert [(r["id"], r["total"]) for r in rows(floe_project, "orders")] == [(1, 6), (3, 7)]


def test_cursor_pages_and_incremental_start_and_end_params(
    floe_project: FloeProject, api: HTTPServer
) -> None:
    events = [{"id": i, "ts": i * 10} for i in range(1, 7)]
    seen: list[dict[str, str]] = []

    def handle(request: Request) -> Response:
        seen.append(dict(request.args))
        low, high = int(request.args["from"]), int(request.args["to"])
        window = [e for e in events if low <= e["ts"] < high]
        start = int(request.args.get("after", "0"))
        page = window[start : start + 2]
        more = start + 2 < len(window)
        return reply({"items": page, "next": str(start + 2) if more else None})

    api.expect_request("/events").respond_with_handler(handle)
    write(
        floe_project,
        {
            "client": {"base_url": api.url_for("/")},
            "resources": [
                {
                    "name": "events",
                    "endpoint": {
                        "path": "events",
                        "data_selector": "items",
                        "paginator": {
                            "type": "cursor",
                            "cursor_path": "next",
                            "cursor_param": "after",
                        },
                        "incremental": {
                            "start_param": "from",
                            "end_param": "to",
                            "cursor_path": "ts",
                            "initial_value": 20,
                            "end_value": 60,
                        },
                    },
                }
            ],
        },
    )

    assert floe_project.run().rows_loaded == 4
    assert [r["ts"] for r in rows(floe_project, "events")] == [20, 30, 40, 50]
    assert {(s["from"], s["to"]) for s in seen} == {("20", "60")}
    assert [s.get("after") for s in seen] == [None, "2"]


def test_invalid_config_exits_2_naming_the_field_path(floe_project: FloeProject) -> None:
    write(
        floe_project,
        {
            "client": {"base_url": "http://127.0.0.1:9/"},
            "resources": ["a", {"name": "b", "endpoint": {"paginator": {"type": "pages"}}}],
        },
    )

    run = subprocess.run(
        [sys.executable, "-m", "floe_cli", "ingest", "run"],
        cwd=floe_project.root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert (
        "source 'api' (rest_api): config.resources[1].endpoint.paginator.type: field "
        "`type=pages` is not one of: ['json_link', " in lines[0]
    )


def test_response_actions_ignore_a_missing_child_and_keep_the_rest(
    floe_project: FloeProject, api: HTTPServer
) -> None:
    api.expect_request("/users").respond_with_json([{"id": 1}, {"id": 2}, {"id": 3}])
    api.expect_request("/users/2/profile").respond_with_json({"error": "gone"}, status=404)
    for user in (1, 3):
        api.expect_request(f"/users/{user}/profile").respond_with_json({"id": user * 10})
    write(
        floe_project,
        {
            "client": {"base_url": api.url_for("/"), "paginator": "single_page"},
            "resources": [
                "users",
                {
                    "name": "profiles",
                    "endpoint": {
                        "path": "users/{resources.users.id}/profile",
                        "response_actions": [{"status_code": 404, "action": "ignore"}],
                    },
                },
            ],
        },
    )

    run = floe_project.run()

    assert run.rows_per_table == {"bronze.users": 3, "bronze.profiles": 2}
    assert [r["id"] for r in rows(floe_project, "profiles")] == [10, 30]
