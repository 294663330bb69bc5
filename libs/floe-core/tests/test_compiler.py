"""compile_spec: valid projects resolve; invalid ones give one line naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from floe_core import FloeConfigError, compile_spec, reveal
from pydantic import SecretStr

VALID = """\
retry: {max_retries: 5, initial_delay_seconds: 0.5}
ingestion:
  sources:
    - name: shop
      type: sql_database
      schedule: "0 * * * *"
      config:
        credentials: "${SHOP_DB_URL}"
        tables: [customers, orders]
        cursor_field: updated_at
      destination:
        namespace: bronze
        write_mode: merge
        primary_key: id
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "floe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_project_compiles_with_embedded_catalog(tmp_path: Path) -> None:
    env = {"SHOP_DB_URL": "postgresql://app:hunter2@127.0.0.1/shop"}
    artifacts = compile_spec(write(tmp_path, VALID), env=env)

    catalog = artifacts.spec.catalog
    assert catalog.type == "sql"
    assert catalog.uri == f"sqlite:///{tmp_path.resolve()}/.floe/catalog.db"
    assert catalog.warehouse == str(tmp_path.resolve() / ".floe" / "warehouse")
    source = artifacts.spec.ingestion.source("shop")
    assert source.destination.primary_keys == ["id"]
    assert isinstance(source.config["credentials"], SecretStr)
    assert reveal(source.config)["credentials"] == env["SHOP_DB_URL"]
    assert artifacts.spec.retry.max_retries == 5
    assert artifacts.plugins.ingestion is not None
    assert artifacts.plugins.ingestion.type == "dlt"
    assert artifacts.project_dir == str(tmp_path.resolve())


def test_secrets_never_serialized(tmp_path: Path) -> None:
    text = VALID.replace(
        "retry:", "catalog: {type: rest, uri: 'http://c', credential: 'id:s3cr3t'}\nretry:"
    )
    env = {"SHOP_DB_URL": "postgresql://app:hunter2@127.0.0.1/shop"}
    dumped = compile_spec(write(tmp_path, text), env=env).model_dump_json()
    assert "hunter2" not in dumped
    assert "s3cr3t" not in dumped
    assert "**********" in dumped


def test_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    text = "catalog: {uri: 'sqlite:///state/cat.db', warehouse: wh}\n"
    artifacts = compile_spec(write(tmp_path / "project", text), env={})
    base = (tmp_path / "project").resolve()
    assert artifacts.spec.catalog.uri == f"sqlite:///{base}/state/cat.db"
    assert artifacts.spec.catalog.warehouse == str(base / "wh")


def test_interpolation_default_and_escape(tmp_path: Path) -> None:
    text = VALID.replace("${SHOP_DB_URL}", "${SHOP_DB_URL:-sqlite:///shop.db}").replace(
        "cursor_field: updated_at", "cursor_field: $$updated"
    )
    source = compile_spec(write(tmp_path, text), env={}).spec.ingestion.sources[0]
    assert reveal(source.config["credentials"]) == "sqlite:///shop.db"
    assert source.config["cursor_field"] == "$updated"


SOURCE = """\
ingestion:
  sources:
    - name: shop
      type: sql_database
      config: {tables: [a]}
      destination: {namespace: bronze}
"""

BAD_INPUT = {
    "yaml_syntax": ("ingestion:\n  sources: [\n", r"floe\.yaml:\d+: invalid YAML"),
    "unknown_top_level_key": (
        SOURCE + "catalogue: {}\n",
        r"floe\.yaml:7: catalogue: unknown key 'catalogue'",
    ),
    "unknown_source_key": (
        SOURCE.replace("type: sql_database", "type: sql_database\n      tpye: x"),
        r"floe\.yaml:5: ingestion\.sources\[0\] \(source 'shop'\)\.tpye: unknown key 'tpye'",
    ),
    "wrong_type": (
        SOURCE + "retry: {max_retries: lots}\n",
        r"floe\.yaml:7: retry\.max_retries: Input should be a valid integer",
    ),
    "duplicate_source_names": (
        SOURCE + SOURCE.split("sources:\n", 1)[1],
        r"floe\.yaml:7: ingestion\.sources\[1\] \(source 'shop'\)\.name: duplicate source name 'shop'",
    ),
    "invalid_source_name": (
        SOURCE.replace("name: shop", "name: Shop-1"),
        r"floe\.yaml:3: ingestion\.sources\[0\] \(source 'Shop-1'\)\.name: String should match",
    ),
    "missing_env_variable": (
        SOURCE.replace("{tables: [a]}", "{credentials: '${NOPE_NOT_SET}'}"),
        r"floe\.yaml:5: environment variable NOPE_NOT_SET is not set",
    ),
    "unknown_write_mode": (
        SOURCE.replace("namespace: bronze", "namespace: bronze, write_mode: upsert"),
        r"destination\.write_mode: Input should be 'append', 'replace' or 'merge' \(got 'upsert'\)",
    ),
    "unknown_schema_contract": (
        SOURCE.replace("namespace: bronze", "namespace: bronze, schema_contract: strict"),
        r"\(source 'shop'\)\.destination\.schema_contract: Input should be 'evolve'",
    ),
    "merge_without_primary_key": (
        SOURCE.replace("namespace: bronze", "namespace: bronze, write_mode: merge"),
        r"floe\.yaml:3: .*\(source 'shop'\): destination: write_mode 'merge' needs a primary_key",
    ),
    "table_and_namespace": (
        SOURCE.replace("namespace: bronze", "namespace: bronze, table: bronze.x"),
        r"destination: give either 'table' or 'namespace', not both",
    ),
    "neither_table_nor_namespace": (
        SOURCE.replace("namespace: bronze", "write_mode: append"),
        r"destination: give 'table' \(namespace\.table\) or 'namespace'",
    ),
    "duplicate_yaml_key": (
        SOURCE.replace("type: sql_database", "type: sql_database\n      type: x"),
        r"floe\.yaml:5: duplicate key 'type'",
    ),
    "top_level_not_mapping": ("- a\n- b\n", r"floe\.yaml:1: the top level must be a mapping"),
    "bad_table_name": (
        SOURCE.replace("namespace: bronze", "table: nodot"),
        r"destination\.table: String should match pattern",
    ),
    "bad_schedule": (
        SOURCE.replace("type: sql_database", "type: sql_database\n      schedule: hourly"),
        r"schedule: schedule must be a cron expression",
    ),
    "rest_catalog_without_uri": (
        SOURCE + "catalog: {type: rest}\n",
        r"catalog: a rest catalog needs a uri",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_clear_line(tmp_path: Path, case: str) -> None:
    text, pattern = BAD_INPUT[case]
    with pytest.raises(FloeConfigError) as caught:
        compile_spec(write(tmp_path, text), env={})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "floe.yaml"))
    assert caught.match(pattern)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FloeConfigError, match=r"floe\.yaml: file not found"):
        compile_spec(tmp_path / "floe.yaml")
