"""The load engine: one source (or some of its resources) loaded to committed Iceberg snapshots.

The CLI and the Dagster assets both call :meth:`LoadEngine.load`; neither rebuilds any part of a
load. Everything a load guarantees lives here once: the pipeline lock, settling what a killed
run left behind, retries of transient failures, the pending/partial rules, and the rows counted
from the snapshots the load committed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floe_core.spec import SourceSpec
from floe_core.windows import TimeWindow
from pydantic import BaseModel, ValidationError

from floe_ingestion_dlt.attempt import Attempts, attempt, native_panic
from floe_ingestion_dlt.config import DltIngestionConfig, pipeline_name
from floe_ingestion_dlt.errors import (
    AuditFailedError,
    IngestionError,
    PipelineConfigurationError,
    categorize_error,
)
from floe_ingestion_dlt.observability import get_logger, record_error, span
from floe_ingestion_dlt.outcome import LoadOutcome, LoadStatus, TableLoad

if TYPE_CHECKING:
    from floe_ingestion_dlt.events import EventSink, LoadEvent
    from floe_ingestion_dlt.loading import DltPipeline
    from floe_ingestion_dlt.plan import SourcePlan
    from floe_ingestion_dlt.types import (
        CheckResult,
        DestinationSettings,
        MaintenanceReport,
        TableStats,
    )

__all__ = ["LoadEngine", "LoadOutcome", "LoadStatus", "TableLoad", "native_panic"]


class LoadEngine:
    """Loads the sources of one compiled project into its Iceberg catalog."""

    def __init__(self, config: DltIngestionConfig) -> None:
        self.config = config

    @property
    def settings(self) -> DestinationSettings:
        from floe_ingestion_dlt.types import DestinationSettings

        return DestinationSettings(
            catalog=self.config.catalog_config,
            storage=self.config.storage_config,
            project_dir=self.config.project_dir,
        )

    @property
    def pipelines_dir(self) -> Path:
        return Path(
            self.config.pipelines_dir or Path(self.config.project_dir) / ".floe" / "pipelines"
        )

    def source(self, name: str | SourceSpec) -> SourceSpec:
        return name if isinstance(name, SourceSpec) else self.config.source(name)

    def maintain(
        self, tables: Sequence[str] | None = None, *, dry_run: bool = False
    ) -> list[MaintenanceReport]:
        """Run each table's maintenance policy (every table of the catalog by default); one
        table's failure is in its report, never raised."""
        from floe_ingestion_dlt.maintenance import maintain_tables
        from floe_ingestion_dlt.plugins import get_destination_type

        destination = get_destination_type()
        names = list(tables) if tables is not None else destination.list_tables(self.settings)
        return maintain_tables(self.config, destination, self.settings, names, dry_run=dry_run)

    def table_stats(self, name: str) -> TableStats:
        """Data files, sizes, snapshots and partitions of ``namespace.table``."""
        from floe_ingestion_dlt.plugins import get_destination_type

        return get_destination_type().table_stats(self.settings, name)

    def validate(self, source: SourceSpec) -> BaseModel:
        """The source's config block, validated by its own plugin's model.

        Raises:
            PipelineConfigurationError: one line naming the source and the field.
        """
        from floe_core.compiler import reveal

        from floe_ingestion_dlt.plugins import get_source_type

        source_type = get_source_type(source.type)
        try:
            return source_type.config_model.model_validate(reveal(source.config))
        except ValidationError as exc:
            item = exc.errors(include_url=False, include_input=False)[0]
            field = ".".join(str(p) for p in item["loc"]) or "config"
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown key"
            error = PipelineConfigurationError(
                f"source {source.name!r} ({source.type}): config.{field}: {message}",
                source_type=source.type,
                destination_table=source.destination.target,
                pipeline_name=pipeline_name(source),
            )
            names = [s.name for s in self.config.sources]
            if source.name in names:
                index = names.index(source.name)
                error.loc = ("ingestion", "sources", index, "config", *_key_path(item["loc"]))
            raise error from None

    def resource_names(self, source: str | SourceSpec) -> list[str] | None:
        """The resources ``source`` declares in floe.yaml, without connecting to anything;
        ``None`` when only the source itself can list them."""
        from floe_ingestion_dlt.loading import source_context
        from floe_ingestion_dlt.plugins import get_source_type

        spec = self.source(source)
        context = source_context(spec, self.settings)
        return get_source_type(spec.type).resource_names(self.validate(spec), context)

    def pipeline(
        self,
        source: str | SourceSpec,
        *,
        progress: Any = None,
        strict: bool = False,
        window: TimeWindow | None = None,
    ) -> DltPipeline:
        """The dlt pipeline of ``source`` (``progress``: a dlt progress collector)."""
        from floe_ingestion_dlt.loading import build_pipeline
        from floe_ingestion_dlt.plugins import get_destination_type, get_source_type

        spec = self.source(source)
        with span("create_pipeline", source_type=spec.type, write_mode=spec.destination.write_mode):
            return build_pipeline(
                spec,
                self.validate(spec),
                get_source_type(spec.type),
                get_destination_type(),
                self.settings,
                self.pipelines_dir,
                progress=progress,
                strict=strict,
                window=window,
            )

    def load(
        self,
        source: str | SourceSpec,
        *,
        resources: Sequence[str] | None = None,
        on_event: EventSink | None = None,
        strict: bool = False,
        window: TimeWindow | None = None,
    ) -> LoadOutcome:
        """Load ``source`` (only ``resources`` of it, when given) and say what was committed.

        With ``window`` (a source with ``partitions:``), read only the rows whose partition
        column is in the window and replace exactly those rows of each table, in one commit.

        Never raises for a failure of the source, a panic inside its native extraction code
        included: the outcome carries the categorized error. An interrupt (Ctrl-C) propagates.
        """
        from floe_ingestion_dlt.events import SourceFinished, SourceStarted, progress_collector

        spec = self.source(source)
        target = spec.destination.target
        name = pipeline_name(spec) + (f"__w{window.digits}" if window is not None else "")
        log = get_logger().bind(pipeline_id=name, source_type=spec.type)
        on_event = _safe(on_event)
        if on_event is not None:
            on_event(SourceStarted(spec.name, spec.type, target))
        log.info("pipeline_started", source=spec.name, status="running")
        started = time.perf_counter()
        handle: DltPipeline | None = None
        attempts = Attempts()
        with span(
            "run",
            source_type=spec.type,
            destination_table=target,
            write_mode=spec.destination.write_mode,
        ) as current:
            try:
                totals: dict[str, int] = {}
                progress = progress_collector(spec.name, on_event, totals) if on_event else None
                _check_window(spec, window)
                handle = self.pipeline(spec, progress=progress, strict=strict, window=window)
                if on_event is not None:
                    totals.update(
                        handle.source_type.row_estimates(handle.source_config, handle.context)
                    )
                info = self._run(handle, resources, attempts, window)
                outcome = self._committed(handle, info, time.perf_counter() - started)
                outcome = self._checked(handle, outcome, resources)
                outcome = replace(
                    outcome,
                    attempts=attempts.count,
                    window=window.key if window else None,
                    duration_seconds=time.perf_counter() - started,
                )
            except BaseException as exc:
                if not (isinstance(exc, Exception) or native_panic(exc)):
                    raise  # an interrupt, or the process being torn down
                outcome = LoadOutcome(
                    source=spec.name,
                    source_type=spec.type,
                    target=target,
                    status="failed",
                    duration_seconds=time.perf_counter() - started,
                    error=self._as_error(exc, spec, handle),
                    attempts=attempts.count,
                    window=window.key if window else None,
                )
                if isinstance(outcome.error, AuditFailedError):
                    outcome = replace(outcome, checks=outcome.error.results)
            current.set_attribute("ingestion.duration_seconds", outcome.duration_seconds)
            current.set_attribute("ingestion.rows_loaded", outcome.rows_loaded)
            current.set_attribute("ingestion.bytes_written", outcome.bytes_written)
            if outcome.error is not None:
                record_error(current, outcome.error)
        if outcome.error is None:
            log.info(
                "pipeline_completed",
                status="success",
                rows_loaded=outcome.rows_loaded,
                bytes_written=outcome.bytes_written,
                duration_seconds=round(outcome.duration_seconds, 3),
            )
        else:
            log.error(
                "pipeline_failed",
                status="failed",
                error_type=type(outcome.error).__name__,
                error_category=str(outcome.category),
                duration_seconds=round(outcome.duration_seconds, 3),
            )
        if on_event is not None:
            on_event(SourceFinished(outcome))
        return outcome

    def audit(self, table: str) -> list[CheckResult]:
        """Run the checks floe.yaml declares for ``namespace.table`` on its main branch now.

        The table's source is the one whose load made its current snapshot (its lineage), or
        else the one source whose destination names the table.
        """
        from floe_ingestion_dlt.audit import run_table_checks, source_of_table
        from floe_ingestion_dlt.plugins import get_destination_type

        destination = get_destination_type()
        history = destination.table_history(self.settings, table)
        source = source_of_table(self.config.sources, table, history)
        return list(run_table_checks(destination, self.settings, source, [table]))

    def plan(self, source: str | SourceSpec) -> SourcePlan:
        """What a run of ``source`` would do, changing nothing (catalog, warehouse, state).

        Raises:
            PipelineConfigurationError: the source's config is invalid, or its resources can
                only be known by connecting to it.
        """
        from floe_ingestion_dlt.loading import source_context
        from floe_ingestion_dlt.plan import plan_source
        from floe_ingestion_dlt.plugins import get_destination_type, get_source_type

        spec = self.source(source)
        names = self.resource_names(spec)
        if names is None:
            raise PipelineConfigurationError(
                f"source {spec.name!r} ({spec.type}): its resources can only be known by "
                "connecting to the source; list them in its config to plan it",
                source_type=spec.type,
                destination_table=spec.destination.target,
                pipeline_name=pipeline_name(spec),
            )
        return plan_source(
            spec,
            names,
            get_source_type(spec.type),
            self.validate(spec),
            source_context(spec, self.settings),
            get_destination_type(),
            self.settings,
            self.pipelines_dir,
        )

    def publish(self, table: str, branch: str) -> int:
        """Publish the kept audit ``branch`` of ``namespace.table`` by hand; returns the
        snapshot main now points to."""
        from floe_ingestion_dlt.plugins import get_destination_type

        return get_destination_type().publish(self.settings, table, branch)

    def _checked(
        self, handle: DltPipeline, outcome: LoadOutcome, resources: Sequence[str] | None
    ) -> LoadOutcome:
        """The outcome with the source's checks run on what the load committed (see
        :func:`floe_ingestion_dlt.audit.checked`)."""
        from floe_ingestion_dlt.audit import checked
        from floe_ingestion_dlt.plan import table_name_of

        spec = handle.source
        names = resources if resources is not None else self.resource_names(spec) or []
        loaded = [table_name_of(spec, name) for name in names]
        return checked(outcome, spec, handle.destination_type, handle.settings, loaded)

    @staticmethod
    def _as_error(
        exc: BaseException, spec: SourceSpec, handle: DltPipeline | None
    ) -> IngestionError:
        from floe_ingestion_dlt.loading import as_ingestion_error

        if isinstance(exc, IngestionError):
            return exc
        if handle is not None:
            return as_ingestion_error(exc, handle)
        from floe_ingestion_dlt.loading import redact, secret_values

        detail = redact(f"{type(exc).__name__}: {exc}", secret_values(spec.config))[:500]
        return IngestionError(
            f"source {spec.name!r} ({spec.type}): {detail}",
            source_type=spec.type,
            destination_table=spec.destination.target,
            pipeline_name=pipeline_name(spec),
            category=categorize_error(exc),
        )

    def _run(
        self,
        handle: DltPipeline,
        resources: Sequence[str] | None,
        attempts: Attempts,
        window: TimeWindow | None = None,
    ) -> Any:
        """Run the pipeline under its lock, retrying transient failures; a window run then
        empties the window of the tables it wrote nothing to, and drops its pipeline folder."""
        from floe_ingestion_dlt.locking import pipeline_lock
        from floe_ingestion_dlt.retry import call_with_retry

        with pipeline_lock(
            Path(handle.pipeline.pipelines_dir), handle.name, source_type=handle.source.type
        ):
            info = call_with_retry(
                lambda: attempt(handle, resources, attempts),
                self.config.retry_config,
                pipeline_name=handle.name,
            )
            if window is not None and handle.context.window is not None:
                _empty_unwritten_windows(handle, info)
                _forget_window_pipeline(handle)
            return info

    def _committed(self, handle: DltPipeline, info: Any, duration: float) -> LoadOutcome:
        """The outcome of a load that succeeded, its rows read from the committed snapshots."""
        namespace = handle.source.destination.namespace_name
        load_ids = tuple(getattr(info, "loads_ids", ()) or ())
        written: dict[str, int] = {}
        size = 0
        for package in getattr(info, "load_packages", None) or ():
            for job in package.jobs.get("completed_jobs", []):
                name = job.job_file_info.table_name
                if name.startswith("_dlt"):
                    continue
                written.setdefault(f"{namespace}.{name}", 0)
                if job.job_file_info.file_format != "reference":
                    size += int(job.file_size or 0)
        try:
            commits = handle.destination_type.committed(handle.settings, list(written), load_ids)
        except Exception as exc:  # the load is committed; only the count cannot be read
            get_logger().warning(
                "rows_uncounted", pipeline_id=handle.name, error_type=type(exc).__name__
            )
            commits = {}
        tables = tuple(
            TableLoad(
                name,
                commits[name].rows,
                commits[name].snapshot_id,
                commits[name].columns,
                commits[name].commit_conflicts,
            )
            if name in commits
            else TableLoad(name, 0)
            for name in sorted(written)
        )
        maintenance: tuple[MaintenanceReport, ...] = ()
        if self.config.maintenance_of(handle.source).after_load and commits:
            from floe_ingestion_dlt.maintenance import maintain_tables

            maintenance = tuple(
                maintain_tables(
                    self.config, handle.destination_type, handle.settings, sorted(commits)
                )
            )
        return LoadOutcome(
            source=handle.source.name,
            source_type=handle.source.type,
            target=handle.source.destination.target,
            status="success",
            tables=tables,
            bytes_written=size,
            duration_seconds=duration,
            load_ids=load_ids,
            maintenance=maintenance,
        )


def _check_window(spec: SourceSpec, window: TimeWindow | None) -> None:
    if window is None:
        if spec.partitions is not None:
            raise PipelineConfigurationError(
                f"source {spec.name!r} ({spec.type}) is partitioned: load it by window "
                "(floe ingest run --partition KEY, or --from A --to B; in Dagster, a partition "
                "run): a load without one would read every row and append it again",
                source_type=spec.type,
                destination_table=spec.destination.target,
                pipeline_name=pipeline_name(spec),
            )
        return
    if spec.partitions is None:
        raise PipelineConfigurationError(
            f"source {spec.name!r} ({spec.type}) has no partitions: (a window run needs "
            "partitions: {column, start, every} in floe.yaml)",
            source_type=spec.type,
            destination_table=spec.destination.target,
            pipeline_name=pipeline_name(spec),
        )
    if window.every != spec.partitions.every:
        raise PipelineConfigurationError(
            f"source {spec.name!r}: window {window.key} is one {window.every}, but "
            f"partitions.every is {spec.partitions.every}",
            source_type=spec.type,
            destination_table=spec.destination.target,
            pipeline_name=pipeline_name(spec),
        )


def _empty_unwritten_windows(handle: DltPipeline, info: Any) -> None:
    """A window run replaces each table's window by what it read: a table it read no row for
    (it got no load job) still has its window emptied, or its old rows there would stay."""
    written = {
        job.job_file_info.table_name
        for package in getattr(info, "load_packages", None) or ()
        for job in package.jobs.get("completed_jobs", [])
    }
    schema = handle.pipeline.default_schema
    namespace = handle.source.destination.namespace_name
    unwritten = [
        f"{namespace}.{table['name']}"
        for table in schema.data_tables()
        if "parent" not in table and table["name"] not in written
    ]
    window = handle.context.window
    assert window is not None  # nosec B101  # narrows the type; checked upstream
    if unwritten:
        properties = {"floe.source": handle.source.name, "floe.pipeline": handle.name}
        handle.destination_type.empty_window(handle.settings, unwritten, window, properties)


def _safe(sink: EventSink | None) -> EventSink | None:
    """``sink`` whose failures are logged, never the load's."""
    if sink is None:
        return None
    events = sink

    def safe(event: LoadEvent) -> None:
        try:
            events(event)
        except Exception as exc:
            get_logger().warning("progress_event_failed", error_type=type(exc).__name__)

    return safe


def _forget_window_pipeline(handle: DltPipeline) -> None:
    """A window's pipeline keeps no state worth keeping once nothing is pending: drop its
    folder, so a long backfill does not leave one folder per window."""
    import shutil

    pipeline = handle.pipeline
    if pipeline.has_pending_data:
        return
    # under the pipeline's lock; the lock file itself stays (another run may be waiting on it)
    shutil.rmtree(pipeline.working_dir, ignore_errors=True)


def _key_path(loc: Sequence[str | int]) -> tuple[str | int, ...]:
    """A pydantic error's location as floe.yaml keys: ``resources[1].endpoint`` and
    ``resources.1.endpoint`` both give ``("resources", 1, "endpoint")``."""
    import re

    path: list[str | int] = []
    for part in loc:
        if isinstance(part, int):
            path.append(part)
            continue
        for piece in re.split(r"[.\[\]]+", part):
            if piece:
                path.append(int(piece) if piece.isdigit() else piece)
    return tuple(path)
