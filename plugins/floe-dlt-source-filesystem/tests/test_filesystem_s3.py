"""Files in an S3 bucket (moto on loopback) land in Iceberg tables; credentials and health."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from floe_core.health import HealthState
from floe_testing.fixtures.ingestion import FloeProject

if TYPE_CHECKING:
    from conftest import Files, S3Server

ROWS = [
    {"id": 1, "sku": "ä-1", "qty": 3},
    {"id": 2, "sku": "b-2", "qty": 5},
    {"id": 3, "sku": "c-3", "qty": 0},
]


def _source(project: FloeProject, config: str, destination: str = "{namespace: bronze}") -> None:
    project.write(
        f"""
        ingestion:
          sources:
            - name: warehouse
              type: filesystem
              config: {{{config}}}
              destination: {destination}
        """
    )


@pytest.mark.parametrize("extension", ["csv", "jsonl", "parquet"])
def test_each_format_loads_from_s3(
    floe_project: FloeProject, s3_files: Files, s3: S3Server, extension: str
) -> None:
    s3_files.write(f"stock/part-1.{extension}", ROWS[:1])
    s3_files.write(f"stock/part-2.{extension}", ROWS[1:])
    s3_files.write("other/ignored.csv", ROWS)
    _source(
        floe_project,
        f'bucket_url: "{s3_files.url}", file_glob: "stock/*.{extension}", {s3.source_fields()}',
    )

    run = floe_project.run()

    assert run.rows_per_table == {"bronze.stock": 3}
    table = floe_project.read("bronze.stock").sort_by("id")
    assert table.select(["id", "sku", "qty"]).to_pylist() == ROWS


def test_storage_s3_settings_are_used_when_the_source_has_none(
    floe_project: FloeProject, s3_files: Files, s3: S3Server
) -> None:
    s3_files.write("orders.jsonl", ROWS)
    floe_project.write(
        f"""
        storage:
          s3: {{endpoint: "{s3.endpoint}", access_key_id: {s3.key},
               secret_access_key: {s3.secret}, region: {s3.region}, path_style: true}}
        ingestion:
          sources:
            - name: orders
              type: filesystem
              config: {{bucket_url: "{s3_files.url}", file_glob: "*.jsonl"}}
              destination: {{table: bronze.orders}}
        """
    )
    assert floe_project.run().rows_per_table == {"bronze.orders": 3}
    assert floe_project.read("bronze.orders").num_rows == 3


def test_only_new_objects_load_incrementally(
    floe_project: FloeProject, s3_files: Files, s3: S3Server
) -> None:
    s3_files.write("a.parquet", ROWS[:2])
    _source(
        floe_project,
        f'bucket_url: "{s3_files.url}", file_glob: "*.parquet", table_name: parts, '
        f"{s3.source_fields()}",
    )
    assert floe_project.run().rows_loaded == 2
    assert floe_project.run().rows_loaded == 0


def _health(project: FloeProject) -> HealthState:
    plugin = project.plugin()
    state: HealthState = plugin.check_source(plugin.config.sources[0]).state
    return state


def test_health_reports_whether_the_bucket_is_listable(
    floe_project: FloeProject, s3_files: Files, s3: S3Server
) -> None:
    s3_files.write("x.csv", ROWS)
    _source(floe_project, f'bucket_url: "{s3_files.url}", file_glob: "*.csv", {s3.source_fields()}')
    assert _health(floe_project) is HealthState.HEALTHY

    _source(
        floe_project, f'bucket_url: "s3://no-such-bucket", file_glob: "*.csv", {s3.source_fields()}'
    )
    assert _health(floe_project) is HealthState.UNHEALTHY


def test_health_of_a_local_folder(floe_project: FloeProject, local_files: Files) -> None:
    local_files.write("x.csv", ROWS)
    _source(floe_project, f'bucket_url: "{local_files.url}", file_glob: "*.csv"')
    assert _health(floe_project) is HealthState.HEALTHY

    _source(floe_project, f'bucket_url: "{local_files.url}", file_glob: "orders/*.csv"')
    plugin = floe_project.plugin()
    status = plugin.check_source(plugin.config.sources[0])
    assert status.state is HealthState.UNHEALTHY
    assert status.message == (
        f"config.file_glob: no file in {local_files.root} matches 'orders/*.csv'"
    )

    _source(floe_project, 'bucket_url: "missing_folder", file_glob: "*.csv"')
    assert _health(floe_project) is HealthState.UNHEALTHY
