"""One attempt at a load: prepare the catalog, build the source, run dlt; a failure is raised
categorized, once, as an ``IngestionError``, after the pending/partial rules are applied."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from floe_ingestion_dlt.errors import IngestionError, PipelineConfigurationError
from floe_ingestion_dlt.observability import get_logger

if TYPE_CHECKING:
    from floe_ingestion_dlt.loading import DltPipeline

__all__ = ["Attempts", "attempt", "native_panic"]


def native_panic(exc: BaseException) -> bool:
    """Is ``exc`` a Rust panic surfacing through pyo3 (connectorx, for one)?

    pyo3 raises ``pyo3_runtime.PanicException``, a ``BaseException`` from a module that exists
    only once a pyo3 extension has loaded, so it is recognized by its type's module and name.
    """
    kind = type(exc)
    return kind.__module__ == "pyo3_runtime" and kind.__name__ == "PanicException"


class Attempts:
    """How many attempts a load took."""

    def __init__(self) -> None:
        self.count = 0


def attempt(handle: DltPipeline, resources: Sequence[str] | None, attempts: Attempts) -> Any:
    """One attempt at the load; a failure is raised categorized, once, as an IngestionError."""
    attempts.count += 1
    from floe_ingestion_dlt._dlt_adapter import as_dlt_source, settle_interrupted_run
    from floe_ingestion_dlt.hints import schema_contract
    from floe_ingestion_dlt.loading import as_ingestion_error, discard_unloadable

    pipeline = handle.pipeline
    try:
        handle.destination_type.prepare(handle.settings, handle.source.destination.namespace_name)
    except Exception as exc:  # the catalog is down or refuses: retried when transient
        raise as_ingestion_error(exc, handle, step="destination") from exc
    try:
        built = handle.source_type.build(handle.source_config, handle.context)
        dlt_source = _select(as_dlt_source(built, pipeline), handle, resources)
    except IngestionError:
        raise
    except Exception as exc:
        raise as_ingestion_error(exc, handle, step="extract") from exc
    settle_interrupted_run(pipeline)
    if pipeline.has_pending_data:  # dlt loads what is pending, then stops for this run
        get_logger().warning(
            "pipeline_resuming",
            pipeline_id=handle.name,
            detail="finishing the load an earlier run left pending; the source is read "
            "again on the next run",
        )
    try:
        return pipeline.run(
            dlt_source,
            schema_contract=schema_contract(handle.source.destination.schema_contract),
            **handle.destination_type.run_options(),
        )
    except BaseException as exc:
        if not (isinstance(exc, Exception) or native_panic(exc)):
            raise
        error = as_ingestion_error(exc, handle)
        discard_unloadable(handle, error.category)
        raise error from exc


def _select(dlt_source: Any, handle: DltPipeline, resources: Sequence[str] | None) -> Any:
    if resources is None:
        return dlt_source
    unknown = sorted(set(resources) - set(dlt_source.resources))
    if unknown:
        source = handle.source
        raise PipelineConfigurationError(
            f"source {source.name!r} ({source.type}) has no resource named {unknown[0]!r} "
            f"(resources: {', '.join(sorted(dlt_source.resources))})",
            source_type=source.type,
            destination_table=source.destination.target,
            pipeline_name=handle.name,
        )
    return dlt_source.with_resources(*resources)
