"""The ``rest_api`` source type: dlt's declarative REST API source with floe's hints applied."""

from __future__ import annotations

import importlib

from floe_core.health import HealthStatus
from floe_ingestion_dlt.errors import PipelineConfigurationError
from floe_ingestion_dlt.hints import apply_destination_hints
from floe_ingestion_dlt.types import DltSource, SourceContext, SourceType
from pydantic import BaseModel

from floe_dlt_source_rest_api.checks import add_selector_checks, first_pages
from floe_dlt_source_rest_api.config import HttpSettings, RestApiConfig
from floe_dlt_source_rest_api.session import Redactor, build_session

__all__ = ["RestApiSource"]

_INSTALL = "pip install floe-dlt-source-rest-api"
_MODULES = ("requests", "dlt", "dlt.sources.rest_api", "dlt.sources.helpers.requests")


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
        assert isinstance(config, RestApiConfig)
        return [resource.name for resource in config.resources]

    def build(self, config: BaseModel, context: SourceContext) -> DltSource:
        from dlt.common.exceptions import DltException
        from dlt.sources.rest_api import rest_api_source

        assert isinstance(config, RestApiConfig)
        redact = Redactor(config)
        spec = config.to_dlt()
        spec["client"]["session"] = build_session(config, redact)
        add_selector_checks(spec, context, redact)
        try:
            source = rest_api_source(spec, name=context.source_name)  # type: ignore[arg-type]
        except (ValueError, TypeError, DltException) as exc:
            raise PipelineConfigurationError(
                f"source {context.source_name!r} ({self.name}): config: "
                f"{redact(' '.join(str(exc).split()))}",
                source_type=self.name,
            ) from None
        return apply_destination_hints(source, context, keep_resource_dispositions=True)

    def health_check(
        self, config: BaseModel, context: SourceContext, timeout: float
    ) -> HealthStatus:
        """The first page of every resource answers, with its auth (one attempt each)."""
        assert isinstance(config, RestApiConfig)
        once = HttpSettings(timeout_seconds=timeout, max_attempts=1, backoff_factor=0)
        config = config.model_copy(update={"http": once})
        source = self.build(config, context)
        return first_pages(source, Redactor(config))
