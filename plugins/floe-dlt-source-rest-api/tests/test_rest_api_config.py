"""The ``config:`` block is checked before anything runs; what passes is what dlt accepts."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import yaml
from floe_dlt_source_rest_api import RestApiConfig, RestApiSource
from floe_ingestion_dlt import ErrorCategory, PipelineConfigurationError
from floe_ingestion_dlt.plugins import get_source_type
from floe_ingestion_dlt.types import SourceContext
from floe_testing.fixtures.ingestion import FloeProject

BASE = "http://127.0.0.1:9/api/"
CONTEXT = SourceContext(source_name="api", project_dir=".")


def _write(project: FloeProject, config: dict[str, Any]) -> None:
    source = {"name": "api", "type": "rest_api", "config": config}
    source["destination"] = {"namespace": "bronze"}
    project.write(yaml.safe_dump({"ingestion": {"sources": [source]}}, sort_keys=False))


def _client(**extra: Any) -> dict[str, Any]:
    return {"base_url": BASE, **extra}


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "missing_base_url": (
        {"client": {}, "resources": ["items"]},
        "config.client.base_url: Field required",
    ),
    "base_url_not_http": (
        {"client": {"base_url": "ftp://host/"}, "resources": ["items"]},
        "config.client.base_url: must be an http:// or https:// URL",
    ),
    "unknown_paginator": (
        {"client": _client(paginator="bogus"), "resources": ["items"]},
        "config.client.paginator: unknown paginator type 'bogus'; use one of json_link, ",
    ),
    "paginator_without_type": (
        {"client": _client(paginator={"limit": 5}), "resources": ["items"]},
        "config.client.paginator: give the paginator a type: one of json_link, ",
    ),
    "offset_without_limit": (
        {"client": _client(paginator="offset"), "resources": ["items"]},
        "config.client.paginator.limit: Field required",
    ),
    "unknown_auth": (
        {"client": _client(auth={"type": "oauth3", "token": "t0ken-xyz"}), "resources": ["x"]},
        "config.client.auth: unknown auth type 'oauth3'; use one of bearer, api_key, http_basic",
    ),
    "api_key_without_key": (
        {"client": _client(auth={"type": "api_key", "name": "k"}), "resources": ["x"]},
        "config.client.auth.api_key: Field required",
    ),
    "api_key_cookie": (
        {
            "client": _client(auth={"type": "api_key", "api_key": "k3y-xyz", "location": "cookie"}),
            "resources": ["x"],
        },
        "config.client.auth.location: Input should be 'header' or 'query'",
    ),
    "unknown_client_key": (
        {"client": _client(tokn="abc"), "resources": ["items"]},
        "config.client.tokn: unknown key",
    ),
    "no_resources": ({"client": _client(), "resources": []}, "config.resources: List should"),
    "resource_without_name": (
        {"client": _client(), "resources": [{"endpoint": "items"}]},
        "config.resources.0.name: Field required",
    ),
    "duplicate_resource": (
        {"client": _client(), "resources": ["items", {"name": "items"}]},
        "config.resources.1.name: duplicate 'items'",
    ),
    "unknown_parent": (
        {
            "client": _client(),
            "resources": ["posts", {"name": "comments", "endpoint": "posts/{resources.postz.id}"}],
        },
        "config.resources.1.endpoint.path: resource 'comments' refers to parent resource "
        "'postz', which is not defined (resources: posts, comments)",
    ),
    "unknown_parent_in_params": (
        {
            "client": _client(),
            "resources": [
                "posts",
                {"name": "c", "endpoint": {"path": "c", "params": {"p": "{resources.x.id}"}}},
            ],
        },
        "config.resources.1.endpoint.params: resource 'c' refers to parent resource 'x'",
    ),
    "parent_cycle": (
        {
            "client": _client(),
            "resources": [
                {"name": "a", "endpoint": "a/{resources.b.id}"},
                {"name": "b", "endpoint": "b/{resources.a.id}"},
            ],
        },
        "config.resources: resources depend on each other: ",
    ),
    "incremental_without_cursor_path": (
        {
            "client": _client(),
            "resources": [
                {
                    "name": "events",
                    "endpoint": {"params": {"since": {"type": "incremental", "initial_value": 1}}},
                }
            ],
        },
        "config.resources.0.endpoint.params.since.cursor_path: Field required",
    ),
    "unknown_param_type": (
        {
            "client": _client(),
            "resources": [{"name": "e", "endpoint": {"params": {"since": {"type": "latest"}}}}],
        },
        "config.resources.0.endpoint.params.since: unknown param type 'latest'",
    ),
    "incremental_placeholder_without_incremental": (
        {
            "client": _client(),
            "resources": [
                {"name": "e", "endpoint": {"params": {"since": "{incremental.start_value}"}}}
            ],
        },
        "config.resources.0.endpoint.params: placeholder {incremental.start_value} must be ",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_config_is_one_line_naming_source_and_field(
    floe_project: FloeProject, case: str
) -> None:
    config, expected = BAD[case]
    _write(floe_project, config)

    with pytest.raises(PipelineConfigurationError) as caught:
        floe_project.run()

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"source 'api' (rest_api): {expected}"), message
    assert caught.value.category is ErrorCategory.CONFIGURATION
    assert "t0ken-xyz" not in message
    assert "k3y-xyz" not in message


def test_what_dlt_rejects_at_build_time_is_a_configuration_error(
    floe_project: FloeProject,
) -> None:
    _write(
        floe_project,
        {"client": _client(), "resources": [{"name": "users", "include_from_parent": ["id"]}]},
    )

    with pytest.raises(PipelineConfigurationError) as caught:
        floe_project.run()

    message = str(caught.value)
    assert message.startswith("source 'api' (rest_api): config: Resource `users` has ")
    assert "include_from_parent" in message


def test_shorthand_forms_become_the_dict_dlt_expects() -> None:
    config = RestApiConfig.model_validate(
        {
            "client": {
                "base_url": BASE,
                "auth": {"token": "t0ken-xyz"},
                "paginator": "header_link",
                "headers": {"Accept": "application/json"},
            },
            "resource_defaults": {"primary_key": "id", "endpoint": {"params": {"per_page": 50}}},
            "resources": [
                "users",
                {
                    "name": "posts",
                    "endpoint": {
                        "path": "users/{resources.users.id}/posts",
                        "json": {"q": 1},
                        "method": "post",
                        "paginator": {"type": "json_response"},
                    },
                    "write_disposition": "merge",
                },
            ],
        }
    )

    assert "t0ken-xyz" not in repr(config)
    assert config.to_dlt() == {
        "client": {
            "base_url": BASE,
            "headers": {"Accept": "application/json"},
            "auth": {"type": "bearer", "token": "t0ken-xyz"},
            "paginator": {"type": "header_link"},
        },
        "resources": [
            {"name": "users"},
            {
                "name": "posts",
                "endpoint": {
                    "path": "users/{resources.users.id}/posts",
                    "method": "POST",
                    "json": {"q": 1},
                    "paginator": {"type": "json_link"},
                },
                "write_disposition": "merge",
            },
        ],
        "resource_defaults": {"primary_key": "id", "endpoint": {"params": {"per_page": 50}}},
    }


PAGINATORS = [
    "auto",
    "single_page",
    "json_link",
    {"type": "json_link", "next_url_path": "links.next"},
    "header_link",
    {"type": "header_cursor", "cursor_key": "X-Next", "cursor_param": "after"},
    {"type": "cursor", "cursor_path": "meta.next", "cursor_param": "after"},
    {"type": "page_number", "base_page": 1, "maximum_page": 9, "total_path": None},
    {"type": "offset", "limit": 100, "offset_param": "skip", "limit_param": "take"},
]


@pytest.mark.parametrize("paginator", PAGINATORS, ids=str)
def test_dlt_builds_every_paginator_and_auth(paginator: Any) -> None:
    config = RestApiConfig.model_validate(
        {
            "client": {
                "base_url": BASE,
                "paginator": paginator,
                "auth": {"type": "http_basic", "username": "u", "password": "pw-xyz"},
            },
            "resources": [
                "users",
                {
                    "name": "events",
                    "endpoint": {
                        "params": {"since": {"type": "incremental", "cursor_path": "ts"}},
                        "auth": {"type": "api_key", "api_key": "k3y", "location": "query"},
                        "response_actions": [{"status_code": 404, "action": "ignore"}],
                    },
                },
                {
                    "name": "user_posts",
                    "endpoint": {
                        "path": "users/{user}/posts",
                        "params": {"user": {"type": "resolve", "resource": "users", "field": "id"}},
                    },
                },
            ],
        }
    )

    source = RestApiSource().build(config, CONTEXT)

    assert list(source.resources) == ["users", "events", "user_posts"]


def test_source_type_is_registered_and_names_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    source = get_source_type("rest_api")
    assert isinstance(source, RestApiSource)
    assert source.distribution == "floe-dlt-source-rest-api"
    source.check_imports()

    monkeypatch.setitem(sys.modules, "dlt.sources.rest_api", None)
    with pytest.raises(ImportError, match="pip install floe-dlt-source-rest-api"):
        source.check_imports()
