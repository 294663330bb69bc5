"""``insert-only`` merges of a table with nested lists, written by a dlt pipeline into floe's
Iceberg destination (floe.yaml offers upsert and delete-insert; dlt's hints offer insert-only).

A root row the load skips (its key is in the table) keeps its lists; a root row it adds brings
its lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
from floe_dlt_destination_iceberg.client import floe_iceberg
from floe_testing.duckdb_reader import read_iceberg
from pyiceberg.catalog.sql import SqlCatalog


def test_insert_only_adds_the_lists_of_added_rows_only(tmp_path: Path) -> None:
    properties = {"uri": f"sqlite:///{tmp_path / 'c.db'}", "warehouse": (tmp_path / "w").as_uri()}
    destination = floe_iceberg.configured("t", properties, {})(
        bucket_url=(tmp_path / "state").as_uri()
    )
    batch: list[dict[str, Any]] = [{"id": 1, "tags": ["a", "b"]}, {"id": 2, "tags": ["c"]}]

    @dlt.resource(
        name="items",
        primary_key="id",
        write_disposition={"disposition": "merge", "strategy": "insert-only"},
    )
    def items() -> Iterator[list[dict[str, Any]]]:
        yield batch

    pipeline = dlt.pipeline(
        "insert_only", destination=destination, dataset_name="ns", pipelines_dir=str(tmp_path)
    )
    options: dict[str, Any] = {"table_format": "iceberg", "loader_file_format": "parquet"}
    pipeline.run(items(), **options)
    batch = [{"id": 1, "tags": ["x"]}, {"id": 3, "tags": ["n", "m"]}]
    pipeline.run(items(), **options)

    catalog = SqlCatalog("t", **properties)

    def with_pyiceberg(name: str) -> Any:
        return catalog.load_table(name).scan().to_arrow()

    def with_duckdb(name: str) -> Any:
        return read_iceberg(catalog.load_table(name).metadata_location)

    for read in (with_pyiceberg, with_duckdb):
        roots = {r["_dlt_id"]: r["id"] for r in read("ns.items").to_pylist()}
        tags: dict[int, list[str]] = {}
        for row in sorted(read("ns.items__tags").to_pylist(), key=lambda r: r["_dlt_list_idx"]):
            tags.setdefault(roots[row["_dlt_root_id"]], []).append(row["value"])
        assert sorted(roots.values()) == [1, 2, 3]
        assert tags == {1: ["a", "b"], 2: ["c"], 3: ["n", "m"]}
