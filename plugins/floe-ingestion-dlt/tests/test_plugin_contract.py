"""The dlt plugin passes the shared discovery and health-check suites, and builds pipelines."""

from __future__ import annotations

from pathlib import Path

import pytest
from floe_core import IngestionConfig, IngestionPlugin, PluginRegistry, PluginType
from floe_core.spec import CatalogSpec
from floe_ingestion_dlt import DltIngestionConfig, DltIngestionPlugin
from floe_testing import BaseHealthCheckTests, BasePluginDiscoveryTests
from pydantic import ValidationError


class TestDltPluginDiscovery(BasePluginDiscoveryTests):
    entry_point_group = PluginType.INGESTION.value
    entry_point_name = "dlt"
    expected_module_prefix = "floe_ingestion_dlt"
    expected_class_name = "DltIngestionPlugin"
    expected_abc = IngestionPlugin


@pytest.fixture
def healthy_plugin(tmp_path: Path) -> DltIngestionPlugin:
    return DltIngestionPlugin(
        DltIngestionConfig(
            catalog_config=CatalogSpec(
                uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=str(tmp_path / "wh")
            ),
            project_dir=str(tmp_path),
        )
    )


@pytest.fixture
def unhealthy_plugin(tmp_path: Path) -> DltIngestionPlugin:
    return DltIngestionPlugin(
        DltIngestionConfig(
            catalog_config=CatalogSpec(
                uri="postgresql+psycopg2://postgres@127.0.0.1:1/nothing_listens_here",
                warehouse=str(tmp_path / "wh"),
            ),
            project_dir=str(tmp_path),
        )
    )


class TestDltPluginHealth(BaseHealthCheckTests):
    pass


def test_registry_returns_the_dlt_plugin() -> None:
    plugin = PluginRegistry().get(PluginType.INGESTION, "dlt")
    assert isinstance(plugin, DltIngestionPlugin)
    assert (plugin.name, plugin.version, plugin.floe_api_version) == ("dlt", "0.1.0", "1.0")
    assert plugin.is_external is False
    assert "sql_database" in plugin.list_available_sources()


@pytest.mark.parametrize(
    "config",
    [
        IngestionConfig(source_type="", destination_table="bronze.x"),
        IngestionConfig(
            source_type="sql_database", destination_table="bronze.x", write_mode="upsert"
        ),
        IngestionConfig(
            source_type="sql_database", destination_table="bronze.x", schema_contract="strict"
        ),
    ],
)
def test_create_pipeline_rejects_invalid_config(
    dlt_plugin: DltIngestionPlugin, config: IngestionConfig
) -> None:
    with pytest.raises(ValidationError):
        dlt_plugin.create_pipeline(config)


def test_run_through_the_abstract_contract(dlt_plugin: DltIngestionPlugin, tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "src.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        connection.executemany("INSERT INTO items VALUES (?, ?)", [(i, f"n{i}") for i in range(9)])
    config = IngestionConfig(
        source_type="sql_database",
        source_config={"credentials": f"sqlite:///{db}", "tables": ["items"]},
        destination_table="contract.items",
    )
    pipeline = dlt_plugin.create_pipeline(config)
    assert "/var/dlt" not in str(pipeline.pipeline.pipelines_dir)
    assert str(pipeline.pipeline.pipelines_dir).startswith(dlt_plugin.config.project_dir)
    result = dlt_plugin.run(pipeline)
    assert result.success
    assert result.rows_loaded == 9
    assert result.bytes_written > 0
    assert result.duration_seconds > 0
    assert dlt_plugin.read_table("contract.items").num_rows == 9


def test_destination_config_is_explicit(dlt_plugin: DltIngestionPlugin, tmp_path: Path) -> None:
    config = dlt_plugin.get_destination_config(
        {"type": "sql", "uri": f"sqlite:///{tmp_path}/c.db", "warehouse": str(tmp_path / "w")}
    )
    assert config["table_format"] == "iceberg"
    assert config["iceberg_catalog_config"]["uri"] == f"sqlite:///{tmp_path}/c.db"
    assert config["bucket_url"] == (tmp_path / "w").as_uri()
    rest = dlt_plugin.get_destination_config(
        {"type": "rest", "uri": "http://127.0.0.1:8181", "warehouse": "lake", "scope": "s"}
    )
    assert rest["iceberg_catalog_config"]["type"] == "rest"
    assert rest["iceberg_catalog_config"]["scope"] == "s"


def test_the_plugin_is_what_the_cli_and_dagster_type_against(
    dlt_plugin: DltIngestionPlugin,
) -> None:
    """mypy checks the assignments: the plugin and its engine satisfy floe-core's protocols."""
    from floe_core.engine import IngestionEngine, ProjectIngestion

    ingestion: ProjectIngestion = dlt_plugin
    engine: IngestionEngine = dlt_plugin.engine
    assert isinstance(ingestion, ProjectIngestion)
    assert callable(engine.load)
