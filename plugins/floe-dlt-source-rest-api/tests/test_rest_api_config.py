"""The ``config:`` block is dlt's RESTAPIConfig, validated by dlt before anything runs; what dlt
refuses is one line naming the source and the field's path inside ``config:``."""

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
from pydantic import SecretStr

BASE = "http://127.0.0.1:9/api/"
CONTEXT = SourceContext(source_name="api", project_dir=".")


def _write(project: FloeProject, config: dict[str, Any]) -> None:
    source = {"name": "api", "type": "rest_api", "config": config}
    source["destination"] = {"namespace": "bronze"}
    project.write(yaml.safe_dump({"ingestion": {"sources": [source]}}, sort_keys=False))


def _client(**extra: Any) -> dict[str, Any]:
    return {"base_url": BASE, **extra}


PAGINATOR_TYPES = "['json_link', 'json_response', 'header_link', 'header_cursor', 'auto', "

BAD: dict[str, tuple[dict[str, Any], str]] = {
    "missing_base_url": (
        {"client": {}, "resources": ["items"]},
        "config.client.base_url: field required: the API's http:// or https:// URL",
    ),
    "base_url_not_http": (
        {"client": {"base_url": "ftp://host/"}, "resources": ["items"]},
        "config.client.base_url: must be an http:// or https:// URL, not 'ftp://host/'",
    ),
    "unknown_paginator": (
        {"client": _client(paginator="bogus"), "resources": ["items"]},
        f"config.client.paginator: field `paginator=bogus` is not one of: {PAGINATOR_TYPES}",
    ),
    "unknown_paginator_type_in_a_resource": (
        {
            "client": _client(),
            "resources": ["a", {"name": "b", "endpoint": {"paginator": {"type": "pages"}}}],
        },
        "config.resources[1].endpoint.paginator.type: field `type=pages` is not one of: "
        + PAGINATOR_TYPES,
    ),
    "unknown_paginator_key": (
        {"client": _client(paginator={"type": "page_number", "pages": 3}), "resources": ["x"]},
        "config.client.paginator: received unexpected fields `{'pages'}`",
    ),
    "unknown_auth": (
        {"client": _client(auth={"type": "oauth3", "token": "t0ken-xyz"}), "resources": ["x"]},
        "config.client.auth.type: field `type=oauth3` is not one of: ['bearer', 'api_key', "
        "'http_basic', 'oauth2_client_credentials']",
    ),
    "bearer_with_a_typo": (
        {"client": _client(auth={"type": "bearer", "tokn": "t0ken-xyz"}), "resources": ["x"]},
        "config.client.auth: received unexpected fields `{'tokn'}`",
    ),
    "basic_without_password": (
        {"client": _client(auth={"type": "http_basic", "username": "u"}), "resources": ["x"]},
        "config.client.auth: missing required fields `{'password'}`",
    ),
    "unknown_client_key": (
        {"client": _client(tokn="abc"), "resources": ["items"]},
        "config.client: received unexpected fields `{'tokn'}`",
    ),
    "resource_with_a_typo": (
        {"client": _client(), "resources": [{"nam": "items"}]},
        "config.resources[0]: received unexpected fields `{'nam'}`",
    ),
    "unknown_write_disposition": (
        {"client": _client(), "resources": [{"name": "b", "write_disposition": "upsert"}]},
        "config.resources[0].write_disposition: field `write_disposition=upsert` is not one of: "
        "['skip', 'append', 'replace', 'merge']",
    ),
    "unknown_method": (
        {"client": _client(), "resources": [{"name": "b", "endpoint": {"method": "FETCH"}}]},
        "config.resources[0].endpoint.method: field `method=FETCH` is not one of: ['GET', 'POST']",
    ),
    "processing_step_not_a_function": (
        {"client": _client(), "resources": [{"name": "b", "processing_steps": [{"map": "x"}]}]},
        "config.resources[0].processing_steps[0].map: field `map` expects `callable`",
    ),
    "unknown_top_level_key": (
        {"client": _client(), "resources": ["x"], "sources": ["y"]},
        "config.sources: unknown key",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_config_is_one_line_naming_source_and_field_path(
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


def test_secrets_stay_secret_until_dlt_gets_the_config() -> None:
    config = RestApiConfig.model_validate(
        {
            "client": _client(
                auth={"type": "bearer", "token": "t0ken-xyz"},
                headers={"X-Api-Key": "k3y-xyz", "Accept": "application/json"},
            ),
            "resources": [{"name": "u", "endpoint": {"params": {"api_key": "q-k3y", "n": 5}}}],
        }
    )

    assert isinstance(config.client["auth"]["token"], SecretStr)
    assert isinstance(config.client["headers"]["X-Api-Key"], SecretStr)
    assert config.client["headers"]["Accept"] == "application/json"
    assert config.client["auth"]["type"] == "bearer"
    for secret in ("t0ken-xyz", "k3y-xyz", "q-k3y"):
        assert secret not in repr(config)
        assert secret not in config.model_dump_json()
    assert config.to_dlt() == {
        "client": _client(
            auth={"type": "bearer", "token": "t0ken-xyz"},
            headers={"X-Api-Key": "k3y-xyz", "Accept": "application/json"},
        ),
        "resources": [{"name": "u", "endpoint": {"params": {"api_key": "q-k3y", "n": 5}}}],
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
