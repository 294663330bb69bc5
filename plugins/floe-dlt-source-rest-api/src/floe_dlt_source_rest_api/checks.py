"""What a REST source checks beyond dlt: error responses and bodies that are not JSON, a
``data_selector`` that selects nothing, and whether each resource's first page answers
(``floe ingest check``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from floe_core.health import HealthState, HealthStatus
from floe_ingestion_dlt.errors import PipelineConfigurationError
from floe_ingestion_dlt.observability import get_logger
from floe_ingestion_dlt.types import DltSource, SourceContext

__all__ = ["DataSelectorMatchedNothingError", "add_response_checks", "first_pages"]

Redact = Callable[[str], str]


class DataSelectorMatchedNothingError(PipelineConfigurationError):
    """A resource's ``data_selector`` found nothing in a response that had a body
    (``--strict``; otherwise a warning)."""


def _endpoint(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"path": value}
    return dict(value) if isinstance(value, dict) else {}


def add_response_checks(spec: dict[str, Any], context: SourceContext, redact: Redact) -> None:
    """Give every resource floe's response actions after its own: an error status or a body
    that is not JSON fails with a message free of secrets, and a ``data_selector`` that matches
    nothing in a non-empty body warns (or, strict, fails). Mutates ``spec``."""
    from floe_dlt_source_rest_api.session import check_response

    defaults = _endpoint((spec.get("resource_defaults") or {}).get("endpoint"))
    resources: list[Any] = spec.get("resources") or []
    for index, resource in enumerate(resources):
        if isinstance(resource, str):
            resource = {"name": resource, "endpoint": {"path": resource}}
        elif not isinstance(resource, dict):
            continue  # a DltResource passed as is: nothing to add
        else:
            resource = dict(resource)
        endpoint = _endpoint(resource.get("endpoint"))
        actions = list(endpoint.get("response_actions") or defaults.get("response_actions") or [])
        selector = endpoint.get("data_selector") or defaults.get("data_selector")
        if selector:
            name = str(resource.get("name"))
            actions.append(_selector_check(name, str(selector), context, redact))
        endpoint["response_actions"] = [*actions, check_response(redact)]
        resource["endpoint"] = endpoint
        resources[index] = resource


def _selector_check(
    resource: str, selector: str, context: SourceContext, redact: Redact
) -> Callable[[Any], None]:
    from dlt.common import jsonpath
    from dlt.sources.helpers.rest_client.redaction import sanitize_url

    warned = False

    def check(response: Any) -> None:
        nonlocal warned
        if warned or not response.ok or not response.content:
            return
        try:
            body = response.json()
        except ValueError:
            return  # not JSON: dlt says so when it reads the page
        if not body or jsonpath.find_values(selector, body):
            return
        url = redact(sanitize_url(response.url or ""))
        if context.strict:
            raise DataSelectorMatchedNothingError(
                f"resource {resource!r}: data_selector {selector!r} matched nothing in the "
                f"non-empty response of {url}; fix the selector (strict mode fails the source)",
                source_type="rest_api",
            )
        warned = True
        get_logger().warning(
            "data_selector_matched_nothing",
            source=context.source_name,
            resource=resource,
            data_selector=selector,
            url=url,
            detail="the response has a body but the selector found no items; 0 rows load from it",
        )

    return check


def first_pages(source: DltSource, redact: Redact) -> HealthStatus:
    """Request the first page of every selected resource (a child: through its parent's first
    item) and name each resource that does not answer."""
    failed: list[str] = []
    names = list(source.selected_resources)
    for name, resource in source.selected_resources.items():
        try:
            for _ in resource.add_limit(1):
                break
        except Exception as exc:  # a failing resource is a result of the check
            cause = _innermost(exc)
            detail = redact(" ".join(str(cause).split()))
            failed.append(f"resource {name!r}: {type(cause).__name__}: {detail}")
    if failed:
        return HealthStatus(HealthState.UNHEALTHY, "; ".join(failed), {"failed": len(failed)})
    return HealthStatus(HealthState.HEALTHY, f"rest_api: first page of {', '.join(names)} answered")


def _innermost(exc: BaseException) -> BaseException:
    from floe_ingestion_dlt.errors import root_cause

    return root_cause(exc)
