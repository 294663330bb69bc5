"""The ``filesystem`` source type: dlt's filesystem resource piped into a format reader."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from floe_core.health import HealthState, HealthStatus
from floe_core.spec import StorageSpec
from floe_ingestion_dlt.errors import ErrorCategory, IngestionError, PipelineConfigurationError
from floe_ingestion_dlt.hints import apply_destination_hints
from floe_ingestion_dlt.observability import get_logger
from floe_ingestion_dlt.types import (
    DltSource,
    ReadPreview,
    SourceContext,
    SourceType,
)
from pydantic import BaseModel

from floe_dlt_source_filesystem.config import FilesystemConfig
from floe_dlt_source_filesystem.windows import modified_in, window_files

__all__ = ["FilesystemSource", "resolve_bucket_url", "s3_options", "table_name"]

_INSTALL = "pip install floe-dlt-source-filesystem"

FileSystem = Any  # fsspec.AbstractFileSystem (fsspec ships no type information)

_FILES_PER_PAGE = 100  # dlt's default
_CSV_FILES_PER_PAGE = 100_000

_GLOB_CHARS = re.compile(r"[*?\[{].*$")


def resolve_bucket_url(config: FilesystemConfig, project_dir: str) -> str:
    """An absolute local path (relative paths resolve against the project folder) or the
    s3:// URL as given."""
    if config.is_s3:
        return config.bucket_url.rstrip("/")
    if config.bucket_url.lower().startswith("file://"):
        return str(Path(urlsplit(config.bucket_url).path).resolve())
    return str((Path(project_dir) / Path(config.bucket_url).expanduser()).resolve())


def table_name(config: FilesystemConfig, context: SourceContext) -> str:
    """The table rows land in: the destination's ``table:``, else ``config.table_name``, else
    the last literal name in ``file_glob`` (``orders/*.csv`` and ``orders_*.csv`` give
    ``orders``), else the source's name."""
    if context.table_name:
        return context.table_name
    if config.table_name:
        return config.table_name
    parts = config.file_glob.split("/")
    for index in range(len(parts) - 1, -1, -1):
        literal = _GLOB_CHARS.sub("", parts[index])
        if index == len(parts) - 1:
            literal = literal.split(".", 1)[0]
        name = re.sub(r"[^a-z0-9]+", "_", literal.lower()).strip("_")
        if name[:1].isalpha():
            return name
    return context.source_name


def s3_options(config: FilesystemConfig, storage: StorageSpec | None) -> dict[str, Any]:
    """s3fs keyword arguments: the source's own S3 settings when it has any, else floe.yaml's
    ``storage.s3``, else nothing (boto's default chain: environment, profile, instance role)."""
    options: dict[str, Any] = {}
    client: dict[str, Any] = {}
    if config.has_own_s3_settings:
        if config.aws_access_key_id and config.aws_secret_access_key:
            options["key"] = config.aws_access_key_id.get_secret_value()
            options["secret"] = config.aws_secret_access_key.get_secret_value()
        endpoint, region = config.endpoint_url, config.region_name
    elif storage is not None and storage.s3 is not None:
        s3 = storage.s3
        if s3.access_key_id and s3.secret_access_key:
            options["key"] = s3.access_key_id
            options["secret"] = s3.secret_access_key.get_secret_value()
        if s3.session_token:
            options["token"] = s3.session_token.get_secret_value()
        if s3.path_style:
            options["config_kwargs"] = {"s3": {"addressing_style": "path"}}
        endpoint, region = s3.endpoint, s3.region
    else:
        return options
    if endpoint:
        options["endpoint_url"] = endpoint
    if region:
        client["region_name"] = region
    if client:
        options["client_kwargs"] = client
    return options


def _open_filesystem(
    config: FilesystemConfig, storage: StorageSpec | None, timeout: float | None = None
) -> FileSystem:
    """A fresh fsspec filesystem; never a cached instance, whose listings could be stale."""
    if not config.is_s3:
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem()
    import s3fs  # type: ignore[import-untyped]

    options = s3_options(config, storage)
    if timeout is not None:
        options["config_kwargs"] = {
            **options.get("config_kwargs", {}),
            "connect_timeout": timeout,
            "read_timeout": timeout,
            "retries": {"max_attempts": 1},
        }
    return s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False, **options)


def _no_files(config: FilesystemConfig, context: SourceContext, bucket_url: str) -> IngestionError:
    return IngestionError(
        f"source {context.source_name!r}: config.file_glob: {config.file_glob!r} matches no "
        f"file under {bucket_url}; set allow_empty: true if the folder may be empty",
        source_type="filesystem",
        category=ErrorCategory.CONFIGURATION,
    )


class FilesystemSource(SourceType):
    """CSV, JSON Lines and Parquet files in a local folder or an S3 bucket."""

    name = "filesystem"
    config_model = FilesystemConfig

    def check_imports(self, config: BaseModel | None = None) -> None:
        for module in ("fsspec", "pyarrow"):
            try:
                __import__(module)
            except ImportError as exc:
                raise ImportError(f"{module} is missing: {_INSTALL}") from exc
        if isinstance(config, FilesystemConfig) and config.is_s3:
            try:
                __import__("s3fs")
            except ImportError as exc:
                raise ImportError(
                    f"s3fs is missing, needed for s3:// bucket URLs: pip install s3fs "
                    f"(or {_INSTALL})"
                ) from exc

    def resource_names(self, config: BaseModel, context: SourceContext) -> list[str] | None:
        """One resource: the table the files land in."""
        assert isinstance(config, FilesystemConfig)  # nosec B101  # narrows the type; checked upstream
        return [table_name(config, context)]

    def build(self, config: BaseModel, context: SourceContext) -> DltSource:
        import dlt
        from dlt.sources.filesystem import filesystem
        from floe_ingestion_dlt._dlt_adapter import glob_files

        from floe_dlt_source_filesystem import readers

        assert isinstance(config, FilesystemConfig)  # nosec B101  # narrows the type; checked upstream
        self._check_table_name(config, context)
        incremental = self._incremental(config, context)
        bucket_url = resolve_bucket_url(config, context.project_dir)
        fs = _open_filesystem(config, context.storage)
        # With no files, dlt's listing resource yields nothing and no reader ever runs, so the
        # check needs a listing of its own (the same glob dlt uses).
        if next(iter(glob_files(fs, bucket_url, config.file_glob)), None) is None:
            if not config.allow_empty:
                raise _no_files(config, context, bucket_url)
            get_logger().warning(
                "no_files_matched",
                source=context.source_name,
                bucket_url=bucket_url,
                file_glob=config.file_glob,
            )
        # CSV column types are reconciled across the files of one page: make it every file
        per_page = _CSV_FILES_PER_PAGE if config.file_format == "csv" else _FILES_PER_PAGE
        window = context.window
        if window is not None and config.path_template is not None:
            files = window_files(config.path_template, bucket_url, fs, context, per_page)
        else:
            files = filesystem(
                bucket_url=bucket_url,
                credentials=fs,
                file_glob=config.file_glob,
                files_per_page=per_page,
            )
            if window is not None:
                files.add_filter(modified_in(window))
        if incremental:
            files.apply_hints(incremental=dlt.sources.incremental("modification_date"))
        reader: Any
        if config.file_format == "csv":
            reader = readers.read_csv(
                delimiter=config.delimiter,
                header=config.header,
                encoding=config.encoding,
                type_conflicts=config.csv_type_conflicts,
                window=window,
            )
        elif config.file_format == "jsonl":
            reader = readers.read_jsonl(encoding=config.encoding, window=window)
        else:
            reader = readers.read_parquet(window=window)
        resource = (files | reader).with_name(table_name(config, context))
        return apply_destination_hints(resource, context)

    def _check_table_name(self, config: FilesystemConfig, context: SourceContext) -> None:
        if context.table_name and config.table_name and context.table_name != config.table_name:
            raise PipelineConfigurationError(
                f"source {context.source_name!r}: config.table_name: the destination already "
                f"names the table ({context.table_name!r}); remove table_name or give the "
                "destination a namespace instead",
                source_type=self.name,
            )

    def _incremental(self, config: FilesystemConfig, context: SourceContext) -> bool:
        """By modification time: on by default for append, never silently for replace; never
        for a window run, which reads its window's files each time."""
        if context.window is not None:
            if config.incremental:
                raise PipelineConfigurationError(
                    f"source {context.source_name!r}: config.incremental: a partitioned source "
                    "reads each window's files whenever the window runs (its rerun replaces the "
                    "window); remove incremental",
                    source_type=self.name,
                )
            return False
        if config.incremental is None:
            return context.write_mode == "append"
        if config.incremental and context.write_mode == "replace":
            raise PipelineConfigurationError(
                f"source {context.source_name!r}: config.incremental: with write_mode replace "
                "each load would replace the table with only the new files; remove incremental "
                "or use write_mode append or merge",
                source_type=self.name,
            )
        return config.incremental

    def preview(
        self,
        config: BaseModel,
        context: SourceContext,
        after: Mapping[str, Any],
        timeout: float,
    ) -> dict[str, ReadPreview]:
        """The files a run would read (those modified after the stored modification date,
        when incremental) and their size; rows are known only by reading them."""
        from floe_ingestion_dlt._dlt_adapter import glob_files

        assert isinstance(config, FilesystemConfig)  # nosec B101  # narrows the type; checked upstream
        name = table_name(config, context)
        bucket_url = resolve_bucket_url(config, context.project_dir)
        fs = _open_filesystem(config, context.storage, timeout)
        since = after.get(name) if self._incremental(config, context) else None
        listed = list(glob_files(fs, bucket_url, config.file_glob))
        if not listed and not config.allow_empty:
            raise _no_files(config, context, bucket_url)  # the run would fail the same way
        files = [f for f in listed if since is None or f["modification_date"] > since]
        how = f"{config.file_glob!r} under {bucket_url}" + (
            f", modified after {since}" if since is not None else ""
        )
        size = sum(int(f.get("size_in_bytes") or 0) for f in files)
        return {name: ReadPreview(files=len(files), bytes=size, how=how)}

    def health_check(
        self, config: BaseModel, context: SourceContext, timeout: float
    ) -> HealthStatus:
        assert isinstance(config, FilesystemConfig)  # nosec B101  # narrows the type; checked upstream
        self.check_imports(config)
        bucket_url = resolve_bucket_url(config, context.project_dir)
        fs = _open_filesystem(config, context.storage, timeout)
        path = bucket_url.removeprefix("s3://")
        try:
            entries = fs.ls(path, detail=False)
        except FileNotFoundError:
            return HealthStatus(HealthState.UNHEALTHY, f"{bucket_url} does not exist")
        except PermissionError:
            return HealthStatus(HealthState.UNHEALTHY, f"{bucket_url}: listing is not permitted")
        if not config.is_s3 and not Path(bucket_url).is_dir():
            return HealthStatus(HealthState.UNHEALTHY, f"{bucket_url} is not a folder")
        from floe_ingestion_dlt._dlt_adapter import glob_files

        first = next(iter(glob_files(fs, bucket_url, config.file_glob)), None)
        if first is None:
            return HealthStatus(
                HealthState.UNHEALTHY,
                f"config.file_glob: no file in {bucket_url} matches {config.file_glob!r}",
                {"entries": len(entries), "category": "configuration"},
            )
        return HealthStatus(
            HealthState.HEALTHY,
            f"{bucket_url}: {config.file_glob!r} matches files (first: {first['relative_path']})",
            {"entries": len(entries)},
        )
