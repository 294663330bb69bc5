"""Files in a local folder land in Iceberg tables, read back through the catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from floe_ingestion_dlt import ErrorCategory, IngestionError
from floe_testing.fixtures.ingestion import FloeProject
from structlog.testing import capture_logs

if TYPE_CHECKING:
    from conftest import Files

ROWS = [
    {"id": 1, "name": "alpha", "amount": 1.5},
    {"id": 2, "name": "beta", "amount": 2.25},
    {"id": 3, "name": "gamma", "amount": -4.0},
]


def _source(project: FloeProject, config: str, destination: str = "{namespace: bronze}") -> None:
    project.write(
        f"""
        ingestion:
          sources:
            - name: files
              type: filesystem
              config: {config}
              destination: {destination}
        """
    )


def _rows(project: FloeProject, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = project.read(table).sort_by("id").to_pylist()
    return [{k: v for k, v in row.items() if not k.startswith("_dlt")} for row in rows]


@pytest.mark.parametrize("extension", ["csv", "jsonl", "parquet"])
def test_each_format_loads_with_its_types(
    floe_project: FloeProject, local_files: Files, extension: str
) -> None:
    local_files.write(f"orders_1.{extension}", ROWS[:2])
    local_files.write(f"orders_2.{extension}", ROWS[2:])
    local_files.write_bytes("notes.txt", b"not data")
    _source(floe_project, f'{{bucket_url: data, file_glob: "orders_*.{extension}"}}')

    run = floe_project.run()

    assert run.ok
    assert run.rows_per_table == {"bronze.orders": 3}
    assert _rows(floe_project, "bronze.orders") == ROWS


def test_unicode_text_and_names_survive(floe_project: FloeProject, local_files: Files) -> None:
    rows = [
        {"id": 1, "city": "Zürich", "note": "naïve café ☕"},
        {"id": 2, "city": "東京", "note": "emoji 🚀 and ελληνικά"},
    ]
    local_files.write("cities.csv", rows)
    local_files.write("cities.jsonl", rows)
    _source(floe_project, '{bucket_url: data, file_glob: "cities.csv"}')
    floe_project.run()
    assert _rows(floe_project, "bronze.cities") == rows

    _source(floe_project, '{bucket_url: data, file_glob: "cities.jsonl", table_name: cities_json}')
    floe_project.run()
    assert _rows(floe_project, "bronze.cities_json") == rows


def test_csv_options_and_other_encodings(floe_project: FloeProject, local_files: Files) -> None:
    local_files.write_bytes("legacy.txt", "1;Müller\n2;Søren\n".encode("latin-1"))
    _source(
        floe_project,
        '{bucket_url: data, file_glob: "legacy.txt", format: csv, delimiter: ";", '
        "header: false, encoding: latin-1}",
    )
    floe_project.run()
    table = floe_project.read("bronze.legacy").sort_by("f0")
    assert table["f1"].to_pylist() == ["Müller", "Søren"]


def test_empty_files_load_zero_rows(floe_project: FloeProject, local_files: Files) -> None:
    local_files.write_bytes("empty.csv", b"")
    local_files.write_bytes("header_only.csv", b"id,name\n")
    local_files.write("rows.csv", [{"id": 7, "name": "seven"}])

    _source(floe_project, '{bucket_url: data, file_glob: "*.csv", table_name: mixed}')
    run = floe_project.run()

    assert run.ok
    assert run.rows_loaded == 1
    assert _rows(floe_project, "bronze.mixed") == [{"id": 7, "name": "seven"}]


def test_only_empty_files_is_success_with_zero_rows(
    floe_project: FloeProject, local_files: Files
) -> None:
    local_files.write_bytes("empty.jsonl", b"")
    _source(floe_project, '{bucket_url: data, file_glob: "*.jsonl"}')
    run = floe_project.run()
    assert run.ok
    assert run.rows_loaded == 0


def test_glob_matching_nothing_is_a_configuration_error(
    floe_project: FloeProject, local_files: Files
) -> None:
    local_files.write("orders.csv", ROWS)
    _source(floe_project, '{bucket_url: data, file_glob: "invoices_*.csv"}')

    with pytest.raises(IngestionError) as caught:
        floe_project.run()

    assert caught.value.category is ErrorCategory.CONFIGURATION
    message = str(caught.value)
    assert "source 'files': config.file_glob: 'invoices_*.csv' matches no file under " in message
    assert "\n" not in message
    assert "bronze.invoices" not in floe_project.plugin().list_tables()


def test_glob_matching_nothing_with_allow_empty_is_success_with_a_warning(
    floe_project: FloeProject, local_files: Files
) -> None:
    local_files.write("orders.csv", ROWS)
    _source(floe_project, '{bucket_url: data, file_glob: "invoices_*.csv", allow_empty: true}')

    with capture_logs() as logs:
        run = floe_project.run()

    assert run.ok
    assert run.rows_loaded == 0
    warnings = [e for e in logs if e["event"] == "no_files_matched"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["source"] == "files"
    assert warnings[0]["file_glob"] == "invoices_*.csv"


def test_nested_json_lists_become_child_tables(
    floe_project: FloeProject, local_files: Files
) -> None:
    local_files.write(
        "events.jsonl",
        [
            {"id": 1, "user": {"name": "ann"}, "items": [{"sku": "a", "qty": 2}, {"sku": "b"}]},
            {"id": 2, "user": {"name": "bob"}, "items": []},
        ],
    )
    _source(floe_project, '{bucket_url: data, file_glob: "events.jsonl"}')

    run = floe_project.run()

    assert run.rows_per_table == {"bronze.events": 2, "bronze.events__items": 2}
    events = floe_project.read("bronze.events").sort_by("id")
    assert events["user__name"].to_pylist() == ["ann", "bob"]
    items = floe_project.read("bronze.events__items").sort_by("sku").to_pylist()
    assert [(i["sku"], i["qty"]) for i in items] == [("a", 2), ("b", None)]
    parent = {r["_dlt_id"]: r["id"] for r in events.to_pylist()}
    assert {parent[i["_dlt_parent_id"]] for i in items} == {1}


def test_destination_table_names_the_table(floe_project: FloeProject, local_files: Files) -> None:
    local_files.write("2024/orders-may.csv", ROWS)
    _source(
        floe_project,
        '{bucket_url: data, file_glob: "2024/*.csv"}',
        destination="{table: raw.shop_orders}",
    )
    assert floe_project.run().rows_per_table == {"raw.shop_orders": 3}
    assert len(_rows(floe_project, "raw.shop_orders")) == 3


def test_subfolders_and_absolute_file_urls(floe_project: FloeProject, local_files: Files) -> None:
    local_files.write("a/part-1.parquet", ROWS[:1])
    local_files.write("a/b/part-2.parquet", ROWS[1:])
    url = (floe_project.root / "data").as_uri()
    _source(floe_project, f'{{bucket_url: "{url}", file_glob: "**/*.parquet"}}')
    assert floe_project.run().rows_per_table == {"bronze.files": 3}
    assert _rows(floe_project, "bronze.files") == ROWS
