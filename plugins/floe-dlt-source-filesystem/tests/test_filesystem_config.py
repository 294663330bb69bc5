"""Pure rules of the config block: table names and where S3 settings come from."""

from __future__ import annotations

import pytest
from floe_core.spec import S3Spec, StorageSpec
from floe_dlt_source_filesystem.config import FilesystemConfig
from floe_dlt_source_filesystem.source import s3_options, table_name
from floe_ingestion_dlt.types import SourceContext

CONTEXT = SourceContext(source_name="landing", project_dir="/project")


@pytest.mark.parametrize(
    ("file_glob", "expected"),
    [
        ("orders_*.csv", "orders"),
        ("orders/*.csv", "orders"),
        ("daily-sales.parquet", "daily_sales"),
        ("Events.2024-*.jsonl", "events"),
        ("2024/*.csv", "landing"),
        ("**/*.parquet", "landing"),
        ("raw/2024/part-[0-9].csv", "part"),
    ],
)
def test_table_name_from_the_glob(file_glob: str, expected: str) -> None:
    config = FilesystemConfig(bucket_url="data", file_glob=file_glob, format="csv")
    assert table_name(config, CONTEXT) == expected


def test_table_name_prefers_destination_then_config() -> None:
    config = FilesystemConfig(bucket_url="data", file_glob="orders_*.csv", table_name="sales")
    assert table_name(config, CONTEXT) == "sales"
    with_table = SourceContext(source_name="landing", project_dir="/p", table_name="raw_sales")
    assert table_name(config, with_table) == "raw_sales"


@pytest.mark.parametrize(
    ("file_glob", "expected"),
    [("*.csv", "csv"), ("a/*.JSONL", "jsonl"), ("*.ndjson", "jsonl"), ("x.pq", "parquet")],
)
def test_format_from_the_glob_extension(file_glob: str, expected: str) -> None:
    assert FilesystemConfig(bucket_url="data", file_glob=file_glob).file_format == expected


STORAGE = StorageSpec(
    s3=S3Spec(
        endpoint="http://127.0.0.1:9000",
        access_key_id="storage-key",
        secret_access_key="storage-secret",
        region="eu-west-1",
        path_style=True,
    )
)


def test_s3_settings_of_the_source_replace_storage_entirely() -> None:
    config = FilesystemConfig(
        bucket_url="s3://bucket/x",
        file_glob="*.csv",
        aws_access_key_id="own-key",
        aws_secret_access_key="own-secret",
    )
    assert s3_options(config, STORAGE) == {"key": "own-key", "secret": "own-secret"}


def test_s3_settings_fall_back_to_storage_then_to_boto() -> None:
    config = FilesystemConfig(bucket_url="s3://bucket/x", file_glob="*.csv")
    assert s3_options(config, STORAGE) == {
        "key": "storage-key",
        "secret": "storage-secret",
        "endpoint_url": "http://127.0.0.1:9000",
        "client_kwargs": {"region_name": "eu-west-1"},
        "config_kwargs": {"s3": {"addressing_style": "path"}},
    }
    assert s3_options(config, None) == {}
    assert s3_options(config, StorageSpec()) == {}
