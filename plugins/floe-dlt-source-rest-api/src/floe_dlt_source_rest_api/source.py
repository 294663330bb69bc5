"""The ``rest_api`` source type: dlt's declarative REST API source with floe's hints applied."""

from __future__ import annotations

import importlib

from floe_core.health import HealthState, HealthStatus
from floe_ingestion_dlt.errors import PipelineConfigurationError
from floe_ingestion_dlt.hints import apply_destination_hints
from floe_ingestion_dlt.types import DltSource, SourceContext, SourceType
from pydantic import BaseModel

from floe_dlt_source_rest_api.config import RestApiConfig
from floe_dlt_source_rest_api.session import Redactor, build_session, sanitize_url

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
        """Any HTTP answer to a GET of ``base_url`` means the API is reachable."""
        import requests

        assert isinstance(config, RestApiConfig)
        redact = Redactor(config)
        url = sanitize_url(config.client.base_url, redact)
        try:
            response = requests.get(config.client.base_url, timeout=timeout)
        except requests.RequestException as exc:
            detail = redact(" ".join(str(exc).split()))
            return HealthStatus(
                HealthState.UNHEALTHY,
                f"{self.name}: {url} cannot be reached: {type(exc).__name__}: {detail}",
            )
        return HealthStatus(
            HealthState.HEALTHY,
            f"{self.name}: {url} answered HTTP {response.status_code}",
            details={"status_code": response.status_code},
        )
