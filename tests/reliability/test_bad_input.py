"""A corpus of malformed floe.yaml files: each is refused with one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from floe_core import FloeConfigError, compile_spec

GOOD_SOURCE = """\
    - name: shop
      type: sql_database
      config: {credentials: 'sqlite:///shop.db', tables: [orders]}
      destination: {namespace: bronze}
"""


def doc(sources: str = GOOD_SOURCE, top: str = "") -> str:
    return f"{top}ingestion:\n  sources:\n{sources}"


def source(**fields: str) -> str:
    base = {
        "name": "shop",
        "type": "sql_database",
        "config": "{credentials: 'sqlite:///shop.db', tables: [orders]}",
        "destination": "{namespace: bronze}",
    }
    base.update(fields)
    lines = [f"      {k}: {v}" for k, v in base.items() if v != "<absent>"]
    return "    - " + "\n".join(lines).lstrip() + "\n"


CORPUS: dict[str, str] = {
    "empty_list_item": doc("    -\n"),
    "tab_indentation": "ingestion:\n\tsources: []\n",
    "unclosed_bracket": doc(GOOD_SOURCE.replace("[orders]", "[orders")),
    "unclosed_quote": doc(GOOD_SOURCE.replace("'sqlite:///shop.db'", "'sqlite:///shop.db")),
    "bad_indent": "ingestion:\n  sources:\n   - name: x\n  type: y\n",
    "scalar_document": "just a string\n",
    "list_document": "- a\n- b\n",
    "number_document": "42\n",
    "sources_is_mapping": "ingestion:\n  sources: {shop: 1}\n",
    "sources_is_string": "ingestion:\n  sources: shop\n",
    "ingestion_is_list": "ingestion: [1, 2]\n",
    "unknown_top_key": doc(top="pipelines: {}\n"),
    "typo_top_key": doc(top="catalgo: {type: sql}\n"),
    "unknown_ingestion_key": "ingestion:\n  sourcez: []\n",
    "unknown_source_key": doc(source(schedul="'0 * * * *'")),
    "unknown_destination_key": doc(source(destination="{namespace: bronze, mode: append}")),
    "missing_name": doc(source(name="<absent>")),
    "missing_type": doc(source(type="<absent>")),
    "missing_destination": doc(source(destination="<absent>")),
    "empty_type": doc(source(type="''")),
    "name_uppercase": doc(source(name="Shop")),
    "name_dash": doc(source(name="my-shop")),
    "name_leading_digit": doc(source(name="1shop")),
    "name_space": doc(source(name="'my shop'")),
    "name_too_long": doc(source(name="a" * 70)),
    "name_is_number": doc(source(name="12")),
    "duplicate_names": doc(GOOD_SOURCE + GOOD_SOURCE),
    "duplicate_key": doc(source(type="sql_database\n      type: rest_api")),
    "config_is_list": doc(source(config="[1, 2]")),
    "config_is_string": doc(source(config="credentials")),
    "destination_is_string": doc(source(destination="bronze")),
    "table_and_namespace": doc(source(destination="{namespace: a, table: a.b}")),
    "neither_table_nor_namespace": doc(source(destination="{write_mode: append}")),
    "table_without_dot": doc(source(destination="{table: orders}")),
    "table_with_two_dots": doc(source(destination="{table: a.b.c}")),
    "namespace_with_dot": doc(source(destination="{namespace: a.b}")),
    "namespace_empty": doc(source(destination="{namespace: ''}")),
    "write_mode_unknown": doc(source(destination="{namespace: a, write_mode: upsert}")),
    "write_mode_number": doc(source(destination="{namespace: a, write_mode: 1}")),
    "merge_without_key": doc(source(destination="{namespace: a, write_mode: merge}")),
    "merge_strategy_unknown": doc(
        source(destination="{namespace: a, write_mode: merge, primary_key: id, merge_strategy: x}")
    ),
    "primary_key_number": doc(source(destination="{namespace: a, primary_key: 5}")),
    "schema_contract_unknown": doc(source(destination="{namespace: a, schema_contract: strict}")),
    "schedule_words": doc(source(schedule="hourly")),
    "schedule_three_fields": doc(source(schedule="'0 * *'")),
    "schedule_number": doc(source(schedule="5")),
    "retry_negative": doc(top="retry: {max_retries: -1}\n"),
    "retry_too_many": doc(top="retry: {max_retries: 1000}\n"),
    "retry_string": doc(top="retry: {max_retries: lots}\n"),
    "retry_delay_negative": doc(top="retry: {initial_delay_seconds: -2}\n"),
    "retry_unknown_key": doc(top="retry: {tries: 3}\n"),
    "catalog_type_unknown": doc(top="catalog: {type: hive}\n"),
    "catalog_rest_without_uri": doc(top="catalog: {type: rest}\n"),
    "catalog_unknown_key": doc(top="catalog: {type: sql, url: x}\n"),
    "catalog_properties_list": doc(top="catalog: {properties: [a]}\n"),
    "catalog_is_string": doc(top="catalog: sql\n"),
    "storage_unknown_key": doc(top="storage: {gcs: {}}\n"),
    "s3_unknown_key": doc(top="storage: {s3: {bucket: x}}\n"),
    "s3_path_style_string": doc(top="storage: {s3: {path_style: sometimes}}\n"),
    "missing_env_variable": doc(source(config="{credentials: '${FLOE_TEST_UNSET_VAR}'}")),
    "missing_env_in_catalog": doc(top="catalog: {type: rest, uri: '${FLOE_TEST_UNSET_URI}'}\n"),
    "non_string_key": doc(top="1: 2\n"),
    "maintenance_duration_words": doc(
        top="maintenance: {expire_snapshots: {older_than: 7 days}}\n"
    ),
    "maintenance_duration_unit": doc(top="maintenance: {remove_orphan_files: {older_than: 3w}}\n"),
    "maintenance_duration_number": doc(top="maintenance: {expire_snapshots: {older_than: 7}}\n"),
    "maintenance_duration_negative": doc(
        top="maintenance: {remove_orphan_files: {older_than: -1d}}\n"
    ),
    "maintenance_duration_huge": doc(
        top="maintenance: {expire_snapshots: {older_than: 99999999999d}}\n"
    ),
    "maintenance_retain_zero": doc(top="maintenance: {expire_snapshots: {retain_last: 0}}\n"),
    "maintenance_target_size_zero": doc(top="maintenance: {compact: {target_file_size_mb: 0}}\n"),
    "maintenance_min_files_one": doc(top="maintenance: {compact: {min_input_files: 1}}\n"),
    "maintenance_unknown_key": doc(top="maintenance: {vacuum: {}}\n"),
    "maintenance_unknown_step_key": doc(top="maintenance: {compact: {target_mb: 64}}\n"),
    "maintenance_after_load_string": doc(top="maintenance: {after_load: sometimes}\n"),
    "maintenance_schedule_words": doc(top="maintenance: {schedule: nightly}\n"),
    "source_maintenance_bad_duration": doc(
        source(maintenance="{expire_snapshots: {older_than: 2 hours}}")
    ),
    "partition_by_unknown_transform": doc(
        source(destination="{namespace: bronze, partition_by: ['week(at)']}")
    ),
    "partition_by_zero_buckets": doc(
        source(destination="{namespace: bronze, partition_by: ['bucket(0, id)']}")
    ),
    "sort_by_bad_direction": doc(source(destination="{namespace: bronze, sort_by: [id sideways]}")),
    "automation_unknown": doc(source(automation="hourly")),
    "automation_on_cron_without_schedule": doc(source(automation="on_cron")),
    "partitions_every_year": doc(source(partitions="{column: at, start: 2024-01-01, every: year}")),
    "partitions_no_start": doc(source(partitions="{column: at, every: day}")),
    "partitions_bad_start": doc(source(partitions="{column: at, start: someday, every: day}")),
    "partitions_column_with_quote": doc(
        source(partitions='{column: "a\'b", start: 2024-01-01, every: day}')
    ),
}


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 50


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_malformed_file_gives_one_line(tmp_path: Path, case: str) -> None:
    path = tmp_path / "floe.yaml"
    path.write_text(CORPUS[case], encoding="utf-8")
    with pytest.raises(FloeConfigError) as caught:
        compile_spec(path, env={})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert len(message) < 400


def test_unreadable_and_binary_files(tmp_path: Path) -> None:
    binary = tmp_path / "floe.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(FloeConfigError, match="cannot read file"):
        compile_spec(binary)
    with pytest.raises(FloeConfigError, match="file not found"):
        compile_spec(tmp_path / "missing.yaml")
    with pytest.raises(FloeConfigError, match="cannot read file"):
        compile_spec(tmp_path)  # a folder


def test_a_bad_maintenance_duration_names_file_source_and_field(tmp_path: Path) -> None:
    path = tmp_path / "floe.yaml"
    path.write_text(CORPUS["source_maintenance_bad_duration"], encoding="utf-8")

    with pytest.raises(FloeConfigError) as caught:
        compile_spec(path, env={})

    assert str(caught.value) == (
        f"{path}:7: ingestion.sources[0] (source 'shop').maintenance.expire_snapshots."
        "older_than: a duration is written 30s, 15m, 12h or 7d (got '2 hours')"
    )


@pytest.mark.parametrize(
    "case",
    [
        "unclosed_bracket",
        "name_dash",
        "write_mode_unknown",
        "missing_env_variable",
        "source_maintenance_bad_duration",
    ],
)
def test_cli_exits_2_without_traceback(tmp_path: Path, case: str) -> None:
    (tmp_path / "floe.yaml").write_text(CORPUS[case], encoding="utf-8")
    commands = (
        ["compile"],
        ["ingest", "run"],
        ["ingest", "check"],
        ["tables", "list"],
        ["tables", "maintain", "--dry-run"],
    )
    for command in commands:
        result = subprocess.run(
            [sys.executable, "-m", "floe_cli", *command],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, (command, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
