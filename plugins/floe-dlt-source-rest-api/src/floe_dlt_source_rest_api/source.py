"""The ``rest_api`` source type: dlt's declarative REST API source, given the user's config with
floe's destination settings as defaults."""

from __future__ import annotations

import importlib
from typing import Any

from floe_core.health import HealthStatus
from floe_ingestion_dlt.errors import PipelineConfigurationError
from floe_ingestion_dlt.hints import write_disposition
from floe_ingestion_dlt.types import DltSource, SourceContext, SourceType
from pydantic import BaseModel

from floe_dlt_source_rest_api.checks import add_response_checks, first_pages
from floe_dlt_source_rest_api.config import HttpSettings, RestApiConfig
from floe_dlt_source_rest_api.session import Redactor, build_session
from floe_dlt_source_rest_api.steps import resolve_steps

__all__ = ["RestApiSource", "with_destination_defaults"]

_INSTALL = "pip install floe-dlt-source-rest-api"
_MODULES = ("requests", "dlt", "dlt.sources.rest_api", "dlt.sources.helpers.requests")


def with_destination_defaults(spec: dict[str, Any], context: SourceContext) -> dict[str, Any]:
    """``spec`` with floe's destination settings in ``resource_defaults`` wherever the user's
    ``resource_defaults`` does not set them; a resource's own settings win over both."""
    defaults = dict(spec.get("resource_defaults") or {})
    defaults.setdefault(
        "write_disposition", write_disposition(context.write_mode, context.merge_strategy)
    )
    if context.primary_key:
        defaults.setdefault("primary_key", list(context.primary_key))
    if context.table_name:
        defaults.setdefault("table_name", context.table_name)
    return {**spec, "resource_defaults": defaults}


def with_window(spec: dict[str, Any], context: SourceContext) -> dict[str, Any]:
    """A window run: every resource's ``endpoint.incremental`` reads exactly the window, its
    ``initial_value`` and ``end_value`` set to the window's bounds (ISO 8601, UTC), which dlt
    passes as the ``start_param`` and ``end_param`` the config declares; nothing else is read."""
    window = context.window
    assert window is not None  # nosec B101  # narrows the type; checked upstream
    bounds = {
        "initial_value": window.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_value": window.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

    def bounded(resource: Any) -> tuple[Any, bool]:
        endpoint = resource.get("endpoint") if isinstance(resource, dict) else None
        if not isinstance(endpoint, dict) or not isinstance(endpoint.get("incremental"), dict):
            return resource, False
        incremental = {**endpoint["incremental"], **bounds}
        return {**resource, "endpoint": {**endpoint, "incremental": incremental}}, True

    defaults, in_defaults = bounded(spec.get("resource_defaults") or {})
    resources = [bounded(r) for r in spec["resources"]]
    missing = [
        r if isinstance(r, str) else str(r.get("name"))
        for r, found in resources
        if not found and not in_defaults
    ]
    if missing:
        raise PipelineConfigurationError(
            f"source {context.source_name!r} (rest_api): partitions: resource "
            f"{missing[0]!r} has no endpoint.incremental (with start_param and end_param) to "
            "read a window with",
            source_type="rest_api",
        )
    return {**spec, "resource_defaults": defaults, "resources": [r for r, _ in resources]}


class RestApiSource(SourceType):
    """Paginated JSON APIs: one dlt resource (and Iceberg table) per configured resource."""

    name = "rest_api"
    config_model = RestApiConfig

    def check_imports(self, config: BaseModel | None = None) -> None:
        for module in _MODULES:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise ImportError(f"{module} is missing: {_INSTALL}") from exc

    def resource_names(self, config: BaseModel, context: SourceContext) -> list[str] | None:
        """The resources listed in ``config.resources``."""
        assert isinstance(config, RestApiConfig)  # nosec B101  # narrows the type; checked upstream
        return config.resource_names()

    def build(self, config: BaseModel, context: SourceContext) -> DltSource:
        from dlt.common.exceptions import DltException
        from dlt.sources.rest_api import rest_api_source

        assert isinstance(config, RestApiConfig)  # nosec B101  # narrows the type; checked upstream
        redact = Redactor(config)
        try:
            spec = resolve_steps(config.to_dlt(), context.project_dir)
            spec = with_destination_defaults(spec, context)
            if context.window is not None:
                spec = with_window(spec, context)
            spec["client"]["session"] = build_session(config.http, redact)
            add_response_checks(spec, context, redact)
            source = rest_api_source(spec, name=context.source_name)  # type: ignore[arg-type]
        except (ValueError, TypeError, KeyError, ImportError, AttributeError, DltException) as exc:
            raise PipelineConfigurationError(
                f"source {context.source_name!r} ({self.name}): config: "
                f"{redact(' '.join(str(exc).split()))}",
                source_type=self.name,
            ) from None
        self._check_merge_keys(source, context)
        return source

    def _check_merge_keys(self, source: DltSource, context: SourceContext) -> None:
        """dlt merges a resource without a key by appending: refuse that instead."""
        for name, resource in source.selected_resources.items():
            try:
                table = resource.compute_table_schema()
            except Exception:  # hints that need an item: dlt decides per item  # nosec B112  # dlt resolves these hints per item
                continue
            columns = table.get("columns", {}).values()
            keyed = any(c.get("primary_key") or c.get("merge_key") for c in columns)
            if table.get("write_disposition") == "merge" and not keyed:
                raise PipelineConfigurationError(
                    f"source {context.source_name!r} ({self.name}): config.resources: resource "
                    f"{name!r} is merged but has no primary_key; set primary_key on the resource, "
                    "in resource_defaults, or destination.primary_key",
                    source_type=self.name,
                )

    def health_check(
        self, config: BaseModel, context: SourceContext, timeout: float
    ) -> HealthStatus:
        """The first page of every resource answers, with its auth (one attempt each)."""
        assert isinstance(config, RestApiConfig)  # nosec B101  # narrows the type; checked upstream
        once = HttpSettings(timeout_seconds=timeout, max_attempts=1, backoff_factor=0)
        config = config.model_copy(update={"http": once})
        source = self.build(config, context)
        return first_pages(source, Redactor(config))
