"""``floe ingest`` and ``floe tables`` as a user runs them, on a copy of the quickstart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from floe_testing.orders import floe

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("floe.yaml", "shop.db"):
        shutil.copy(QUICKSTART / name, tmp_path / name)
    return tmp_path


def test_quickstart_loads_then_loads_nothing_new(project: Path) -> None:
    first = floe("ingest", "run", "--json", cwd=project)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["success"] is True
    [shop] = summary["sources"]
    assert shop["tables"] == {"bronze.customers": 500, "bronze.orders": 5000}
    assert shop["rows_loaded"] == 5500
    assert shop["bytes_written"] > 0
    assert (project / ".floe" / "catalog.db").exists()
    assert (project / ".floe" / "pipelines").is_dir()

    second = floe("ingest", "run", "--json", cwd=project)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["sources"][0]["rows_loaded"] == 0

    listed = floe("tables", "list", cwd=project)
    assert listed.stdout.split() == ["bronze.customers", "bronze.orders"]
    shown = floe("tables", "show", "bronze.customers", "--limit", "2", "--json", cwd=project)
    rows = [json.loads(line) for line in shown.stdout.splitlines()]
    assert len(rows) == 2
    assert {"id", "name", "email", "updated_at"} <= set(rows[0])


def test_summary_table_and_check(project: Path) -> None:
    run = floe("ingest", "run", cwd=project)
    assert run.returncode == 0, run.stderr
    assert "bronze.orders" in run.stdout
    assert "5,000" in run.stdout
    assert "success" in run.stdout
    check = floe("ingest", "check", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "catalog" in check.stdout
    assert "source shop" in check.stdout
    history = floe("tables", "history", "bronze.orders", cwd=project)
    assert history.returncode == 0
    assert "append" in history.stdout


def test_unknown_table_and_source(project: Path) -> None:
    missing = floe("tables", "show", "bronze.nope", cwd=project)
    assert missing.returncode == 1
    assert (
        missing.stderr.strip()
        == "error: no table 'bronze.nope' in the catalog (see 'floe tables list')"
    )
    unknown = floe("ingest", "run", "--source", "nope", cwd=project)
    assert unknown.returncode == 2
    assert "no source named 'nope'" in unknown.stderr


SOURCE_ERRORS = {
    "unknown_key": ("tables: [orders], colour: red", "config.colour: unknown key"),
    "bad_url": (
        "credentials: 'oracle://x', tables: [a]",
        "config.credentials: must be a database URL",
    ),
    "empty_tables": ("tables: []", "config.tables"),
    "bad_chunk_size": (
        "tables: [orders], chunk_size: 0",
        "config.chunk_size: Input should be greater",
    ),
    "bad_backend": ("tables: [orders], backend: turbo", "config.backend: Input should be"),
    "tables_wrong_type": ("tables: 5", "config.tables"),
    "override_type": (
        "tables: [orders], columns: {orders: {amount: {type: 'decimal(40,2)'}}}",
        "config.columns.orders.amount.type: must be text, bigint or decimal(P,S)",
    ),
    "override_key": (
        "tables: [orders], columns: {orders: {amount: {type: text, nulls: keep}}}",
        "config.columns.orders.amount.nulls: unknown key",
    ),
    "zero_dates": ("tables: [orders], zero_dates: 'null'", "config.zero_dates: Input should be"),
}


@pytest.mark.parametrize("case", sorted(SOURCE_ERRORS))
def test_source_config_errors_exit_2_with_one_line(project: Path, case: str) -> None:
    extra, expected = SOURCE_ERRORS[case]
    config = extra if "credentials" in extra else f"credentials: 'sqlite:///shop.db', {extra}"
    (project / "floe.yaml").write_text(
        "ingestion:\n  sources:\n    - name: shop\n      type: sql_database\n"
        f"      config: {{{config}}}\n      destination: {{namespace: bronze}}\n",
        encoding="utf-8",
    )
    result = floe("ingest", "run", cwd=project)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "floe.yaml" in lines[0]
    assert "source 'shop' (sql_database)" in lines[0]
    assert expected in lines[0]


def test_missing_cursor_column_is_a_configuration_error(project: Path) -> None:
    (project / "floe.yaml").write_text(
        "ingestion:\n  sources:\n    - name: shop\n      type: sql_database\n"
        "      config: {credentials: 'sqlite:///shop.db', tables: [orders], cursor_field: nope}\n"
        "      destination: {namespace: bronze}\n",
        encoding="utf-8",
    )
    result = floe("ingest", "run", cwd=project)
    assert result.returncode == 2
    assert "config.cursor_field: no selected table has a column 'nope'" in result.stdout


def test_override_of_a_missing_column_is_a_configuration_error(project: Path) -> None:
    (project / "floe.yaml").write_text(
        "ingestion:\n  sources:\n    - name: shop\n      type: sql_database\n"
        "      config: {credentials: 'sqlite:///shop.db', tables: [orders],\n"
        "               columns: {orders: {amout: {type: text}}}}\n"
        "      destination: {namespace: bronze}\n",
        encoding="utf-8",
    )
    result = floe("ingest", "run", cwd=project)
    assert result.returncode == 2
    assert "config.columns.orders.amout: table 'orders' has no column 'amout'" in result.stdout


def test_uninstalled_source_type_names_its_package(project: Path) -> None:
    (project / "floe.yaml").write_text(
        "ingestion:\n  sources:\n    - name: api\n      type: salesforce\n"
        "      config: {}\n      destination: {namespace: bronze}\n",
        encoding="utf-8",
    )
    result = floe("ingest", "run", cwd=project)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert (
        "source type 'salesforce' is not installed: pip install floe-dlt-source-salesforce"
        in lines[0]
    )


def test_a_source_config_error_names_the_line_of_the_field(project: Path) -> None:
    """The source's plugin validates its block away from the file; the line is still found."""
    (project / "floe.yaml").write_text(
        "ingestion:\n"
        "  sources:\n"
        "    - name: shop\n"
        "      type: sql_database\n"
        "      config: {credentials: 'sqlite:///shop.db', tables: [orders]}\n"
        "      destination: {namespace: bronze}\n"
        "    - name: api\n"
        "      type: rest_api\n"
        "      config:\n"
        "        client: {base_url: 'http://127.0.0.1:1/'}\n"
        "        resources:\n"
        "          - items\n"
        "          - name: orders\n"
        "            endpoint:\n"
        "              paginator:\n"
        "                type: pages\n"
        "      destination: {namespace: bronze}\n",
        encoding="utf-8",
    )
    result = floe("ingest", "run", cwd=project)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: floe.yaml:16: source 'api' (rest_api): ")
    assert "config.resources[1].endpoint.paginator.type:" in line
