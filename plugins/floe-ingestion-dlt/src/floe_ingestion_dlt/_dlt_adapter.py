"""Every private name of dlt the engine uses, in one place, each with why.

``tests/test_dlt_adapter.py`` exercises each of them, so a dlt upgrade that renames or changes
one fails there, naming it, instead of somewhere inside a load.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dlt.common.runtime.collector_base import Collector  # see INTERNAL_NAMES

__all__ = [
    "INTERNAL_NAMES",
    "PRIVATE_NAMES",
    "Collector",
    "arrow_type",
    "as_dlt_source",
    "glob_files",
    "naming",
    "openable_files",
    "pending_load_ids",
    "settle_interrupted_run",
    "stored_schema",
    "stored_state",
]

#: Names from dlt's internal modules (``dlt.common.*``), which dlt does not document as API;
#: every floe package reaches them through this module (checked by the adapter's test).
INTERNAL_NAMES = (
    # the base of a progress collector: dlt's only progress extension point
    "dlt.common.runtime.collector_base.Collector",
    # the table and column naming dlt applies (snake_case), to name tables as dlt will
    "dlt.common.normalizers.naming.snake_case.NamingConvention",
    # the glob dlt's filesystem source lists files with, to list the same files
    "dlt.common.storages.fsspec_filesystem.glob_files",
    # a listed file as dlt's filesystem resource yields it (openable), for listings of our own
    "dlt.common.storages.fsspec_filesystem.FileItemDict",
    # the Arrow type dlt gives a column of a dlt type, under the running destination's caps
    "dlt.common.libs.pyarrow.get_py_arrow_datatype",
    "dlt.common.configuration.container.Container",
    "dlt.common.destination.DestinationCapabilitiesContext",
)

#: The private dlt names used below (checked by the adapter's test).
PRIVATE_NAMES = (
    "dlt.Pipeline._get_load_storage",
    "dlt.Pipeline._get_normalize_storage",
    "dlt's pipeline working folder layout (normalize/extracted, load/new|normalized|loaded)",
    "dlt's pipeline working folder layout (state.json, read by floe ingest plan)",
    "dlt's pipeline working folder layout (schemas/<name>.schema.json, read by floe ingest plan)",
)

#: Where dlt saves files atomically (a temporary file named by 16 hex digits, or 32 when it
#: copies, then a rename): a kill between the two leaves the temporary file behind for good.
_ATOMIC_SAVE_FOLDERS = (
    ".",
    "schemas",
    "normalize",
    "normalize/extracted",
    "load",
    "load/new",
    "load/normalized",
    "load/loaded",
)
_ATOMIC_SAVE_TEMPORARY = re.compile(r"[0-9a-f]{16}|[0-9a-f]{32}")


def settle_interrupted_run(pipeline: Any) -> None:
    """Drop what a kill can leave behind that dlt itself never cleans up.

    dlt's normalize renames the finished package into ``load/normalized`` and then deletes the
    extracted package it came from; a kill between the two leaves both, and the next run
    normalizes the extracted copy again and fails moving it onto the package it already made
    ("Directory not empty"), leaving that copy in ``load/new`` for good. A kill inside one of
    dlt's atomic saves leaves its temporary file. Called with the pipeline lock held.
    """
    working = Path(pipeline.working_dir)
    for folder in _ATOMIC_SAVE_FOLDERS:
        with contextlib.suppress(FileNotFoundError):
            for entry in (working / folder).iterdir():
                if _ATOMIC_SAVE_TEMPORARY.fullmatch(entry.name) and entry.is_file():
                    entry.unlink()
    # private: dlt has no public call that lists or drops a single package of one stage
    load_storage = pipeline._get_load_storage()
    if not load_storage.is_storage_ready():
        return
    extracted = set(pipeline.list_extracted_load_packages())
    new = set(load_storage.new_packages.list_packages())
    if not extracted and not new:
        return
    done = set(load_storage.list_normalized_packages()) | set(load_storage.list_loaded_packages())
    for load_id in extracted & done:
        # private: as above, for the extract stage
        pipeline._get_normalize_storage().extracted_packages.delete_package(load_id)
    for load_id in new & done:
        load_storage.new_packages.delete_package(load_id)


def as_dlt_source(built: Any, pipeline: Any) -> Any:
    """A ``DltSource``: a source type that builds a bare resource gets it wrapped as
    ``pipeline.run`` would, so resources can be selected by name."""
    from dlt.extract.extract import data_to_sources
    from dlt.extract.source import DltSource

    if isinstance(built, DltSource):
        return built
    [source] = data_to_sources(built, pipeline)
    return source


def stored_state(pipelines_dir: Path, name: str) -> dict[str, Any]:
    """The pipeline state of ``name`` as its last run left it, read without opening the pipeline
    (``dlt.attach`` may write to its folder; a plan must change nothing); ``{}`` when none.

    Private: the state lives in ``<pipelines_dir>/<name>/state.json``, dlt's JSON with its own
    encoding of dates and decimals, decoded with dlt's decoder.
    """
    from dlt.common.json import custom_pua_decode_nested, json

    path = pipelines_dir / name / "state.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    decoded = custom_pua_decode_nested(json.loads(text))
    return decoded if isinstance(decoded, dict) else {}


def stored_schema(pipelines_dir: Path, name: str) -> Any:
    """The default dlt schema of pipeline ``name`` as its last run left it (a
    ``dlt.Schema``), read without opening the pipeline; ``None`` when there is none.

    Private: dlt keeps it in ``<pipelines_dir>/<name>/schemas/<schema name>.schema.json``, the
    schema name being the state's ``default_schema_name``.
    """
    from dlt.common.json import json
    from dlt.common.schema import Schema

    schema_name = stored_state(pipelines_dir, name).get("default_schema_name")
    if not isinstance(schema_name, str):
        return None
    path = pipelines_dir / name / "schemas" / f"{schema_name}.schema.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return Schema.from_dict(json.loads(text))


def pending_load_ids(pipelines_dir: Path, name: str) -> list[str]:
    """The load packages of ``name`` that a run left normalized but not loaded (the next run
    finishes them before reading the source). Private: the ``load/normalized`` folder."""
    folder = pipelines_dir / name / "load" / "normalized"
    try:
        return sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
    except FileNotFoundError:
        return []


def naming() -> Any:
    """dlt's default naming convention (snake_case): ``normalize_identifier``,
    ``normalize_table_identifier``."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    return NamingConvention()


def glob_files(fs: Any, bucket_url: str, pattern: str) -> Any:
    """The files dlt's filesystem source would list for ``pattern`` under ``bucket_url``."""
    from dlt.common.storages.fsspec_filesystem import glob_files as dlt_glob

    return dlt_glob(fs, bucket_url, pattern)


def openable_files(fs: Any, bucket_url: str, pattern: str) -> Iterator[Any]:
    """:func:`glob_files`, each file as dlt's filesystem resource yields it (it can be opened)."""
    from dlt.common.storages.fsspec_filesystem import FileItemDict

    for item in glob_files(fs, bucket_url, pattern):
        yield FileItemDict(item, fs)


def arrow_type(column: Any, tz: str) -> Any:
    """The Arrow type dlt gives ``column`` (a dlt column schema) under the capabilities of the
    destination being loaded (generic ones outside a load)."""
    from dlt.common.configuration.container import Container
    from dlt.common.destination import DestinationCapabilitiesContext
    from dlt.common.libs.pyarrow import get_py_arrow_datatype

    caps = (
        Container().get(DestinationCapabilitiesContext)
        or DestinationCapabilitiesContext.generic_capabilities()
    )
    return get_py_arrow_datatype(column, caps, tz)
