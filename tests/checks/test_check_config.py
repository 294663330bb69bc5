"""Invalid checks and publish modes in floe.yaml are refused with one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from floe_core import FloeConfigError, compile_spec

SOURCE = """\
ingestion:
  sources:
    - name: shop
      type: sql_database
      config: {{credentials: 'sqlite:///shop.db', tables: [orders]}}
      destination: {{namespace: bronze{destination}}}
      checks:
        {checks}
"""

CASES = {
    "unknown_kind": ("orders: [{not_empty: [id]}]", "", "checks.orders[0]", "unknown key"),
    "two_kinds": (
        "orders: [{not_null: [id], unique: [id]}]",
        "",
        "checks.orders[0]",
        "exactly one",
    ),
    "no_kind": ("orders: [{severity: warn}]", "", "checks.orders[0]", "exactly one"),
    "bad_severity": (
        "orders: [{not_null: [id], severity: fatal}]",
        "",
        "checks.orders[0].severity",
        "'fatal'",
    ),
    "empty_columns": ("orders: [{not_null: []}]", "", "checks.orders[0].not_null", "at least 1"),
    "row_count_inverted": (
        "orders: [{row_count: {min: 10, max: 1}}]",
        "",
        "checks.orders[0].row_count",
        "min (10) is greater than max (1)",
    ),
    "row_count_empty": ("orders: [{row_count: {}}]", "", "checks.orders[0].row_count", "min"),
    "accepted_no_values": (
        "orders: [{accepted_values: {column: status, values: []}}]",
        "",
        "checks.orders[0].accepted_values.values",
        "at least 1",
    ),
    "bad_table_name": ("'bad name': [{not_null: [id]}]", "", "checks", "not a table name"),
    "publish_unknown": ("orders: []", ", publish: staged", "destination.publish", "'staged'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_check_names_file_source_and_field(tmp_path: Path, case: str) -> None:
    checks, destination, field, said = CASES[case]
    path = tmp_path / "floe.yaml"
    path.write_text(SOURCE.format(checks=checks, destination=destination), encoding="utf-8")
    with pytest.raises(FloeConfigError) as caught:
        compile_spec(path, env={})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert "(source 'shop')" in message
    assert field in message
    assert said in message


def test_star_checks_cover_root_tables_not_nested_ones(tmp_path: Path) -> None:
    path = tmp_path / "floe.yaml"
    checks = "'*': [{not_null: [id]}]\n        orders: [{unique: [id], severity: warn}]"
    path.write_text(SOURCE.format(checks=checks, destination=""), encoding="utf-8")
    source = compile_spec(path, env={}).spec.ingestion.sources[0]
    assert [c.label for c in source.checks_for("orders")] == ["unique(id)", "not_null(id)"]
    assert [c.label for c in source.checks_for("customers")] == ["not_null(id)"]
    assert source.checks_for("orders__items") == []
    assert source.destination.publish == "direct"
