"""Asset specs: keys, groups, kinds and metadata per dlt resource; one definition per source."""

from __future__ import annotations

import pytest
from dagster import AssetKey, AssetSpec
from floe_core import CompiledArtifacts, compile_spec
from floe_core.spec import SourceSpec
from floe_ingestion_dlt import DltIngestionPlugin
from floe_ingestion_dlt.errors import PipelineConfigurationError
from floe_orchestrator_dagster.assets.ingestion import (
    FloeIngestionTranslator,
    create_ingestion_assets,
)
from floe_testing.fixtures.ingestion import FloeProject


def _source(name: str, destination: dict[str, str]) -> SourceSpec:
    return SourceSpec.model_validate({"name": name, "type": "rest_api", "destination": destination})


def _spec(source: SourceSpec, resource_name: str, table_name: str | None = None) -> AssetSpec:
    return FloeIngestionTranslator(source).get_asset_spec(resource_name, table_name)


def test_key_is_ingestion_source_resource() -> None:
    source = _source("salesforce", {"namespace": "bronze"})

    spec = _spec(source, "customers")

    assert spec.key == AssetKey(["ingestion", "salesforce", "customers"])
    assert spec.group_name == "salesforce"
    assert set(spec.kinds) == {"dlt", "iceberg"}
    assert spec.metadata["source_type"] == "rest_api"
    assert spec.metadata["destination_table"] == "bronze.customers"
    assert spec.metadata["write_mode"] == "append"


def test_destination_table_follows_dlt_naming_and_floe_yaml() -> None:
    namespace = _source("crm", {"namespace": "raw", "write_mode": "replace"})
    table = _source("crm", {"table": "raw.contacts"})

    assert _spec(namespace, "people", "Customer Orders").metadata["destination_table"] == (
        "raw.customer_orders"
    )
    assert _spec(namespace, "people").metadata["write_mode"] == "replace"
    assert _spec(table, "people").metadata["destination_table"] == "raw.contacts"


def _plugin(project: FloeProject) -> tuple[CompiledArtifacts, DltIngestionPlugin]:
    artifacts = compile_spec(project.file)
    plugin = DltIngestionPlugin()
    plugin.configure(artifacts)
    plugin.startup()
    return artifacts, plugin


@pytest.mark.parametrize("count", [0, 1, 3])
def test_one_definition_per_source(floe_project: FloeProject, count: int) -> None:
    (floe_project.root / "data").mkdir()
    (floe_project.root / "data" / "items.csv").write_text("id,name\n1,a\n", encoding="utf-8")
    sources = "".join(
        f"    - name: files_{i}\n      type: filesystem\n"
        f"      config: {{bucket_url: data, file_glob: '*.csv', table_name: items_{i}}}\n"
        f"      destination: {{namespace: bronze}}\n"
        for i in range(count)
    )
    floe_project.write(f"ingestion:\n  sources:\n{sources}" if count else "ingestion: {}\n")
    artifacts, plugin = _plugin(floe_project)

    assets = create_ingestion_assets(artifacts, plugin)

    assert len(assets) == count
    assert [sorted(a.keys) for a in assets] == [
        [AssetKey(["ingestion", f"files_{i}", f"items_{i}"])] for i in range(count)
    ]


def test_one_asset_per_resource_subsettable(quickstart: FloeProject) -> None:
    artifacts, plugin = _plugin(quickstart)

    [assets] = create_ingestion_assets(artifacts, plugin)

    assert set(assets.keys) == {
        AssetKey(["ingestion", "shop", "customers"]),
        AssetKey(["ingestion", "shop", "orders"]),
    }
    assert assets.can_subset
    assert assets.op.name == "shop_ingestion"


def test_a_source_whose_tables_are_not_listed_says_so(floe_project: FloeProject) -> None:
    floe_project.write(
        """
        ingestion:
          sources:
            - name: shop
              type: sql_database
              config: {credentials: "sqlite:///shop.db"}
              destination: {namespace: bronze}
        """
    )
    artifacts, plugin = _plugin(floe_project)

    with pytest.raises(PipelineConfigurationError, match=r"source 'shop' .*config\.tables"):
        create_ingestion_assets(artifacts, plugin)


def test_automation_and_freshness_follow_the_schedule(floe_project: FloeProject) -> None:
    from datetime import timedelta

    from dagster import AutomationCondition

    (floe_project.root / "data").mkdir()
    floe_project.write(
        """
        ingestion:
          sources:
            - name: hourly
              type: filesystem
              schedule: "0 * * * *"
              automation: on_cron
              config: {bucket_url: data, file_glob: "*.csv"}
              destination: {namespace: bronze}
            - name: eager
              type: filesystem
              automation: eager
              config: {bucket_url: data, file_glob: "*.jsonl"}
              destination: {namespace: bronze}
        """
    )
    artifacts, plugin = _plugin(floe_project)

    hourly, eager = (next(iter(a.specs)) for a in create_ingestion_assets(artifacts, plugin))

    assert hourly.automation_condition == AutomationCondition.on_cron("0 * * * *", "UTC")
    assert hourly.metadata["floe/schedule"] == "0 * * * *"
    assert hourly.freshness_policy is not None
    assert hourly.freshness_policy.lower_bound_delta == timedelta(hours=1)  # type: ignore[attr-defined]
    assert eager.automation_condition == AutomationCondition.eager()
    assert eager.freshness_policy is None
