"""Unreadable files and invalid config blocks fail with errors that say what and where."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from floe_ingestion_dlt import ErrorCategory, PipelineConfigurationError, SourceDataError
from floe_testing.fixtures.ingestion import FloeProject

if TYPE_CHECKING:
    from conftest import Files


def _source(project: FloeProject, config: str, destination: str = "{namespace: bronze}") -> None:
    project.write(
        f"""
        ingestion:
          sources:
            - name: files
              type: filesystem
              config: {{{config}}}
              destination: {destination}
        """
    )


def test_malformed_csv_row_names_file_and_line(
    floe_project: FloeProject, local_files: Files
) -> None:
    local_files.write_bytes("good.csv", b"id,name\n1,a\n")
    local_files.write_bytes("bad.csv", b"id,name\n1,a\n2,b,extra\n3,c\n")
    _source(floe_project, 'bucket_url: data, file_glob: "*.csv"')

    with pytest.raises(SourceDataError) as caught:
        floe_project.run()

    path = floe_project.root / "data" / "bad.csv"
    assert f"{path}, line 3: expected 2 columns, got 3: '2,b,extra'" in str(caught.value)
    assert caught.value.category is ErrorCategory.PERMANENT
    assert caught.value.source_type == "filesystem"


def test_invalid_json_line_names_file_and_line(
    floe_project: FloeProject, local_files: Files
) -> None:
    local_files.write_bytes("events.jsonl", b'{"id": 1}\n\n{"id": 2,\n')
    _source(floe_project, 'bucket_url: data, file_glob: "*.jsonl"')
    with pytest.raises(SourceDataError, match=r"events\.jsonl, line 3: not valid JSON"):
        floe_project.run()


def test_json_line_that_is_not_an_object(floe_project: FloeProject, local_files: Files) -> None:
    local_files.write_bytes("events.jsonl", b'{"id": 1}\n[1, 2]\n')
    _source(floe_project, 'bucket_url: data, file_glob: "*.jsonl"')
    with pytest.raises(SourceDataError, match=r"line 2: expected a JSON object, got list"):
        floe_project.run()


def test_csv_in_another_encoding_asks_for_the_encoding(
    floe_project: FloeProject, local_files: Files
) -> None:
    local_files.write_bytes("legacy.csv", "id,name\n1,Müller\n".encode("latin-1"))
    _source(floe_project, 'bucket_url: data, file_glob: "*.csv"')
    with pytest.raises(
        SourceDataError,
        match=r"legacy\.csv: column 'name' is not valid UTF-8 text: set config\.encoding",
    ):
        floe_project.run()


def test_file_that_is_not_parquet(floe_project: FloeProject, local_files: Files) -> None:
    local_files.write_bytes("data.parquet", b"id,name\n1,a\n")
    _source(floe_project, 'bucket_url: data, file_glob: "*.parquet"')
    with pytest.raises(SourceDataError, match=r"data\.parquet: not a readable Parquet file"):
        floe_project.run()


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ("bucket_url: data", "format", "cannot infer the format from file_glob '*'"),
        (
            'bucket_url: data, file_glob: "*.csv", format: xml',
            "format",
            "'csv', 'jsonl' or 'parquet'",
        ),
        ('file_glob: "*.csv"', "bucket_url", "Field required"),
        (
            'bucket_url: "gs://b/x", file_glob: "*.csv"',
            "bucket_url",
            "scheme gs:// is not supported",
        ),
        ('bucket_url: "file://data", file_glob: "*.csv"', "bucket_url", "absolute path"),
        ('bucket_url: data, file_glob: "/abs/*.csv"', "file_glob", "relative to bucket_url"),
        (
            'bucket_url: data, file_glob: "*.csv", delimiter: ";;"',
            "delimiter",
            "at most 1 character",
        ),
        ('bucket_url: data, file_glob: "*.csv", encoding: klingon', "encoding", "unknown encoding"),
        ('bucket_url: data, file_glob: "*.csv", table_name: "Bad Name"', "table_name", "pattern"),
        ('bucket_url: data, file_glob: "*.csv", header: maybe', "header", "valid boolean"),
        ('bucket_url: data, file_glob: "*.csv", colour: red', "colour", "unknown key"),
        (
            'bucket_url: data, file_glob: "*.csv", region_name: eu-west-1',
            "region_name",
            "only applies to an s3:// bucket_url",
        ),
        (
            'bucket_url: "s3://b", file_glob: "*.csv", aws_access_key_id: k',
            "aws_secret_access_key",
            "give aws_access_key_id and aws_secret_access_key together",
        ),
        (
            'bucket_url: "s3://b", file_glob: "*.csv", endpoint_url: "localhost:9000"',
            "endpoint_url",
            "http:// or https://",
        ),
    ],
)
def test_invalid_config_names_source_and_field(
    floe_project: FloeProject, config: str, field: str, message: str
) -> None:
    _source(floe_project, config)
    with pytest.raises(PipelineConfigurationError) as caught:
        floe_project.run()
    text = str(caught.value)
    assert text.startswith(f"source 'files' (filesystem): config.{field}: "), text
    assert message in text


def test_secrets_never_appear_in_config_errors(floe_project: FloeProject) -> None:
    _source(
        floe_project,
        'bucket_url: "s3://b", file_glob: "*.csv", aws_access_key_id: AKIDSECRET, '
        "aws_secret_access_key: s3cr3t-value, endpoint_url: nope",
    )
    with pytest.raises(PipelineConfigurationError) as caught:
        floe_project.run()
    assert not re.search("AKIDSECRET|s3cr3t-value", str(caught.value))


def test_incremental_replace_is_rejected(floe_project: FloeProject, local_files: Files) -> None:
    local_files.write_bytes("a.csv", b"id\n1\n")
    _source(
        floe_project,
        'bucket_url: data, file_glob: "*.csv", incremental: true',
        destination="{namespace: bronze, write_mode: replace}",
    )
    with pytest.raises(PipelineConfigurationError, match=r"source 'files': config\.incremental: "):
        floe_project.run()


def test_table_name_conflicting_with_destination_table(
    floe_project: FloeProject, local_files: Files
) -> None:
    local_files.write_bytes("a.csv", b"id\n1\n")
    _source(
        floe_project,
        'bucket_url: data, file_glob: "*.csv", table_name: orders',
        destination="{table: bronze.sales}",
    )
    with pytest.raises(PipelineConfigurationError, match=r"source 'files': config\.table_name: "):
        floe_project.run()
