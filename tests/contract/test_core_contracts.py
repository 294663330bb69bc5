"""Contracts other packages rely on: the IngestionPlugin shape, artifacts, plugin discovery."""

from __future__ import annotations

import inspect
from pathlib import Path

from floe_core import (
    CompiledArtifacts,
    FloeSpec,
    IngestionConfig,
    IngestionPlugin,
    IngestionResult,
    PluginRef,
    PluginRegistry,
    PluginType,
    ResolvedPlugins,
    compile_spec,
)
from floe_testing.fixtures.entry_points import DistributionFactory


def test_ingestion_plugin_abc_shape() -> None:
    abstract = IngestionPlugin.__abstractmethods__
    assert abstract == {
        "name",
        "version",
        "floe_api_version",
        "is_external",
        "create_pipeline",
        "run",
        "get_destination_config",
    }
    assert list(inspect.signature(IngestionPlugin.run).parameters) == ["self", "pipeline", "kwargs"]
    assert "list_available_sources" not in abstract
    assert IngestionConfig("sql_database") == IngestionConfig(
        source_type="sql_database",
        source_config={},
        destination_table="",
        write_mode="append",
        schema_contract="evolve",
    )
    assert IngestionResult(True) == IngestionResult(
        success=True, rows_loaded=0, bytes_written=0, duration_seconds=0.0, errors=[]
    )


def test_compiled_artifacts_round_trip_preserves_every_field(tmp_path: Path) -> None:
    (tmp_path / "floe.yaml").write_text(
        """\
catalog: {type: rest, uri: 'http://127.0.0.1:8181/api/catalog', warehouse: lake,
          scope: 'PRINCIPAL_ROLE:ALL', properties: {header.X-Iceberg-Access-Delegation: vended-credentials}}
storage: {s3: {endpoint: 'http://127.0.0.1:9000', access_key_id: key, region: us-east-1, path_style: true}}
retry: {max_retries: 7, initial_delay_seconds: 0.25}
ingestion:
  pipelines_dir: state
  sources:
    - name: shop
      type: sql_database
      schedule: '*/5 * * * *'
      config: {tables: [a, b], chunk_size: 5000, nested: {x: [1, 2.5, true, null]}}
      destination: {table: bronze.shop, write_mode: merge, merge_strategy: delete-insert,
                    primary_key: [id, region], schema_contract: freeze}
""",
        encoding="utf-8",
    )
    artifacts = compile_spec(tmp_path / "floe.yaml", env={})
    restored = CompiledArtifacts.model_validate_json(artifacts.model_dump_json())
    assert restored == artifacts
    assert restored.model_dump() == artifacts.model_dump()
    full = CompiledArtifacts(
        source_path="/p/floe.yaml",
        project_dir="/p",
        spec=FloeSpec(),
        plugins=ResolvedPlugins(
            **{
                t.short_name: PluginRef(type=t.short_name, version=">=1", config={"k": [1]})
                for t in PluginType
            }
        ),
    )
    assert CompiledArtifacts.model_validate_json(full.model_dump_json()) == full


def test_all_plugin_types_discoverable(fake_distribution: DistributionFactory) -> None:
    source = (
        "from floe_core.plugin_metadata import PluginMetadata\n"
        "class Plugin(PluginMetadata):\n"
        "    name = 'probe'\n    version = '0.0.1'\n    floe_api_version = '1.0'\n"
    )
    fake_distribution(
        "floe-contract-probe",
        {t.value: {"probe": "floe_contract_probe:Plugin"} for t in PluginType},
        {"floe_contract_probe": source},
    )
    registry = PluginRegistry()
    assert len(PluginType) == 11
    for plugin_type in PluginType:
        [found] = [p for p in registry.list(plugin_type) if p.name == "probe"]
        assert found.distribution == "floe-contract-probe"
        assert registry.get(plugin_type, "probe").name == "probe"
