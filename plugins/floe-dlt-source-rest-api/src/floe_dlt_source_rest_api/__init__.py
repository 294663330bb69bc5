"""REST API source for floe."""

from floe_dlt_source_rest_api.checks import DataSelectorMatchedNothingError
from floe_dlt_source_rest_api.config import RestApiConfig
from floe_dlt_source_rest_api.session import ResponseNotJsonError
from floe_dlt_source_rest_api.source import RestApiSource

__all__ = [
    "DataSelectorMatchedNothingError",
    "ResponseNotJsonError",
    "RestApiConfig",
    "RestApiSource",
]
