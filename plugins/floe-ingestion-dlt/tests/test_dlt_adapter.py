"""Each private dlt name floe uses still exists and still does its job.

A failure here names the private name a dlt upgrade changed; see
``floe_ingestion_dlt._dlt_adapter`` and ``floe_dlt_destination_iceberg.client``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from floe_testing.fixtures.ingestion import FloeProject

_DESTINATION_OWNERS = {
    "RunnableLoadJob": "dlt.common.destination.client",
    "IcebergLoadFilesystemJob": "dlt.destinations.impl.filesystem.filesystem",
    "FilesystemClient": "dlt.destinations.impl.filesystem.filesystem",
    "filesystem": "dlt.destinations.impl.filesystem.factory",
}
#: Attributes dlt sets in ``__init__`` rather than on the class.
_SET_IN_INIT = {"_job_client", "_load_id", "_load_table", "_catalog", "_catalog_namespaces"}


def _destination_private_names() -> tuple[str, ...]:
    from floe_dlt_destination_iceberg.client import PRIVATE_NAMES

    return PRIVATE_NAMES


@pytest.mark.parametrize("name", _destination_private_names())
def test_the_destination_adapter_private_name_exists(name: str) -> None:
    import inspect

    class_name, attribute = name.split(".")
    owner = getattr(importlib.import_module(_DESTINATION_OWNERS[class_name]), class_name)
    if attribute in _SET_IN_INIT:
        found = f"self.{attribute}" in inspect.getsource(owner.__init__)
    else:
        found = hasattr(owner, attribute)
    assert found, f"dlt no longer has {name}: update floe_dlt_destination_iceberg.client"


def test_the_engine_adapter_reaches_dlt_pipeline_storages(floe_project: FloeProject) -> None:
    """``_get_load_storage`` and ``_get_normalize_storage`` give the stores the settle step
    lists and cleans; the folder layout is the one it scans."""
    from floe_ingestion_dlt._dlt_adapter import settle_interrupted_run

    floe_project.sqlite_events(10)
    assert floe_project.run().rows_loaded == 10
    pipeline = floe_project.plugin().engine.pipeline("events").pipeline

    load_storage = pipeline._get_load_storage()
    normalize_storage = pipeline._get_normalize_storage()
    assert load_storage.is_storage_ready(), "dlt.Pipeline._get_load_storage changed"
    assert load_storage.list_normalized_packages() == []
    assert normalize_storage.extracted_packages.list_packages() == [], (
        "dlt.Pipeline._get_normalize_storage changed"
    )
    working = Path(pipeline.working_dir)
    for folder in ("load/new", "load/normalized", "load/loaded", "normalize/extracted"):
        assert (working / folder).is_dir(), f"dlt's package folder {folder} moved"
    settle_interrupted_run(pipeline)  # nothing to settle; must not fail


def test_the_stored_state_is_the_state_dlt_reports(floe_project: FloeProject) -> None:
    """``state.json`` in the pipeline's folder decodes to the state the pipeline itself holds
    (the stored cursor ``floe ingest plan`` shows); no pending package after a finished run."""
    from floe_ingestion_dlt._dlt_adapter import pending_load_ids, stored_state

    floe_project.sqlite_events(10, incremental=True)
    assert floe_project.run().rows_loaded == 10
    engine = floe_project.plugin().engine
    pipeline = engine.pipeline("events").pipeline
    stored = stored_state(engine.pipelines_dir, pipeline.pipeline_name)
    assert stored, "dlt no longer keeps its state in <pipelines_dir>/<name>/state.json"
    assert stored["sources"] == pipeline.state["sources"]
    cursor = stored["sources"]["sql_database"]["resources"]["events"]["incremental"]["id"]
    assert cursor["last_value"] == 9
    assert pending_load_ids(engine.pipelines_dir, pipeline.pipeline_name) == []


def test_the_stored_schema_is_the_schema_dlt_reports(floe_project: FloeProject) -> None:
    """``schemas/<name>.schema.json`` in the pipeline's folder is the pipeline's default schema
    (the one ``floe ingest plan`` judges the schema contract against)."""
    from floe_ingestion_dlt._dlt_adapter import stored_schema

    floe_project.sqlite_events(3)
    floe_project.run()
    engine = floe_project.plugin().engine
    pipeline = engine.pipeline("events").pipeline
    stored = stored_schema(engine.pipelines_dir, pipeline.pipeline_name)
    assert stored is not None, (
        "dlt no longer keeps its schema in <name>/schemas/<schema>.schema.json"
    )
    assert stored.name == pipeline.default_schema.name
    assert stored.tables["events"]["columns"] == pipeline.default_schema.tables["events"]["columns"]


def _internal_names() -> tuple[str, ...]:
    from floe_ingestion_dlt._dlt_adapter import INTERNAL_NAMES

    return INTERNAL_NAMES


@pytest.mark.parametrize("name", _internal_names())
def test_the_internal_dlt_name_exists(name: str) -> None:
    module, _, attribute = name.rpartition(".")
    assert hasattr(importlib.import_module(module), attribute), (
        f"dlt no longer has {name}: update floe_ingestion_dlt._dlt_adapter"
    )


def test_the_adapter_names_tables_and_types_as_dlt_does(tmp_path: Path) -> None:
    import fsspec
    import pyarrow as pa
    from floe_ingestion_dlt._dlt_adapter import arrow_type, glob_files, naming, openable_files

    assert naming().normalize_table_identifier("Customer Orders") == "customer_orders"
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.txt").write_text("")
    listed = list(glob_files(fsspec.filesystem("file"), tmp_path.as_uri(), "*.csv"))
    assert [f["file_name"] for f in listed] == ["a.csv"]
    [opened] = openable_files(fsspec.filesystem("file"), tmp_path.as_uri(), "*.csv")
    assert opened.read_bytes() == b"x\n1\n"
    assert arrow_type({"name": "n", "data_type": "bigint"}, "UTC") == pa.int64()


def _destination_internal_names() -> tuple[str, ...]:
    from floe_dlt_destination_iceberg.client import INTERNAL_NAMES

    return INTERNAL_NAMES


@pytest.mark.parametrize("name", _destination_internal_names())
def test_the_destination_adapter_internal_module_name_exists(name: str) -> None:
    module_name, _, attribute = name.rpartition(".")
    module = importlib.import_module(module_name)
    assert hasattr(module, attribute), (
        f"dlt no longer has {name}: update floe_dlt_destination_iceberg.client"
    )
