"""Merged REST resources with nested lists: child tables follow their parents' lists.

A real HTTP server on 127.0.0.1 serves items whose ``tags`` and ``variants[].sizes`` lists change
between runs; after each run the child tables (``items__tags``, ``items__variants``,
``items__variants__sizes``) must hold exactly the lists of the latest version of every item, read
back through pyiceberg and through DuckDB.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from floe_testing.duckdb_reader import read_iceberg
from floe_testing.fixtures.ingestion import FloeProject
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

Item = dict[str, Any]


def _item(item_id: int, tags: list[str] | None, sizes: dict[str, list[int]]) -> Item:
    return {
        "id": item_id,
        "name": f"item {item_id}",
        "tags": tags,
        "variants": [{"sku": sku, "sizes": s} for sku, s in sizes.items()],
    }


FIRST = [
    _item(1, ["t1", "t2"], {"a": [1, 2], "b": [3]}),
    _item(2, ["t1", "t2", "t3"], {"a": [4]}),
    _item(3, ["u"], {"c": [5, 6]}),
    _item(4, ["v", "w"], {}),
]
#: item 1 shrinks, 2 loses every tag and variant, 3 is not served (untouched), 4 grows, 5 is new
SECOND = [
    _item(1, ["x"], {"b": [7]}),
    _item(2, [], {}),
    _item(4, ["w", "v", "z"], {"d": [8, 9]}),
    _item(5, ["n"], {"e": []}),
]
#: the same items again, unchanged: a rerun of an unchanged page changes nothing
THIRD = SECOND


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


class Api:
    """Serves ``/items`` from :attr:`items`, which a test replaces between runs."""

    def __init__(self, server: HTTPServer) -> None:
        server.clear()
        self.items: list[Item] = []
        server.expect_request("/items").respond_with_handler(self._answer)
        self.url = server.url_for("/")

    def _answer(self, _: Request) -> Response:
        return Response(json.dumps(self.items), mimetype="application/json")


def _project(project: FloeProject, api: Api, strategy: str) -> FloeProject:
    source = {
        "name": "api",
        "type": "rest_api",
        "config": {
            "client": {"base_url": api.url},
            "resources": [
                {"name": "items", "endpoint": {"path": "items", "paginator": "single_page"}}
            ],
        },
        "destination": {
            "namespace": "bronze",
            "write_mode": "merge",
            "merge_strategy": strategy,
            "primary_key": "id",
        },
    }
    document = {
        "retry": {"max_retries": 0, "initial_delay_seconds": 0},
        "ingestion": {"sources": [source]},
    }
    return project.write(yaml.safe_dump(document, sort_keys=False))


def _expected(*versions: list[Item], strategy: str = "upsert") -> dict[int, Item]:
    """Each item as its last version has it (its first, for ``insert-only``)."""
    latest: dict[int, Item] = {}
    for version in versions:
        for item in version:
            if strategy != "insert-only" or item["id"] not in latest:
                latest[item["id"]] = item
    return {
        item_id: {
            "name": item["name"],
            "tags": item["tags"] or [],
            "variants": {v["sku"]: v["sizes"] for v in item["variants"]},
        }
        for item_id, item in latest.items()
    }


def _assemble(tables: dict[str, list[dict[str, Any]]]) -> dict[int, Item]:
    """Items rebuilt from the root and child tables, joined by dlt's row, parent and root keys."""
    by_root = {row["_dlt_id"]: row["id"] for row in tables["items"]}
    for name in ("items__tags", "items__variants", "items__variants__sizes"):
        roots = {row["_dlt_root_id"] for row in tables[name]}
        assert roots <= set(by_root), f"{name} holds rows of no item"
        ids = [row["_dlt_id"] for row in tables[name]]
        assert len(ids) == len(set(ids)), f"{name} holds a row twice"
    tags: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for row in tables["items__tags"]:
        tags[by_root[row["_dlt_root_id"]]].append((row["_dlt_list_idx"], row["value"]))
    sizes: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in tables["items__variants__sizes"]:
        sizes[row["_dlt_parent_id"]].append((row["_dlt_list_idx"], row["value"]))
    variants: dict[int, dict[str, list[int]]] = defaultdict(dict)
    for row in tables["items__variants"]:
        variant_sizes = [value for _, value in sorted(sizes[row["_dlt_id"]])]
        variants[by_root[row["_dlt_root_id"]]][row["sku"]] = variant_sizes
    return {
        row["id"]: {
            "name": row["name"],
            "tags": [value for _, value in sorted(tags[row["id"]])],
            "variants": variants[row["id"]],
        }
        for row in tables["items"]
    }


_TABLES = ("items", "items__tags", "items__variants", "items__variants__sizes")


def _read_pyiceberg(project: FloeProject) -> dict[int, Item]:
    plugin = project.plugin()
    return _assemble({t: plugin.read_table(f"bronze.{t}").to_pylist() for t in _TABLES})


def _read_duckdb(project: FloeProject) -> dict[int, Item]:
    from floe_dlt_destination_iceberg.catalog import open_catalog

    catalog = open_catalog(project.plugin().settings)
    locations = {t: catalog.load_table(("bronze", t)).metadata_location for t in _TABLES}
    return _assemble({t: read_iceberg(location).to_pylist() for t, location in locations.items()})


@pytest.mark.parametrize("strategy", ["upsert", "delete-insert"])
def test_child_tables_follow_changed_lists(
    floe_project: FloeProject, server: HTTPServer, strategy: str
) -> None:
    api = Api(server)
    _project(floe_project, api, strategy)

    api.items = FIRST
    floe_project.run()
    assert _read_pyiceberg(floe_project) == _expected(FIRST)

    api.items = SECOND
    assert floe_project.run().ok
    expected = _expected(FIRST, SECOND)
    assert expected[1]["tags"] == ["x"]
    assert expected[2]["tags"] == []
    assert _read_pyiceberg(floe_project) == expected
    assert _read_duckdb(floe_project) == expected

    api.items = THIRD
    floe_project.run()
    assert _read_pyiceberg(floe_project) == expected
    assert _read_duckdb(floe_project) == expected


@pytest.mark.parametrize("failing", ["items", "items__tags"])
def test_a_load_whose_root_or_child_commit_failed_converges_on_rerun(
    floe_project: FloeProject,
    server: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    failing: str,
) -> None:
    """The tables of one load commit one by one: whichever commit fails, the run that finishes
    the pending load brings every table to the same state as an uninterrupted load."""
    from floe_dlt_destination_iceberg.client import FloeIcebergLoadJob
    from floe_ingestion_dlt import IngestionError

    api = Api(server)
    _project(floe_project, api, "delete-insert")
    api.items = FIRST
    floe_project.run()

    commit = FloeIcebergLoadJob._commit

    def fail_one_table(job: FloeIcebergLoadJob, table: Any, conflicts: int = 0) -> None:
        if job.load_table_name == failing:
            raise ConnectionResetError(f"connection to the catalog lost while writing {failing}")
        commit(job, table, conflicts)

    monkeypatch.setattr(FloeIcebergLoadJob, "_commit", fail_one_table)
    api.items = SECOND
    with pytest.raises(IngestionError):
        floe_project.run()
    monkeypatch.setattr(FloeIcebergLoadJob, "_commit", commit)
    api.items = []  # the rerun finishes the pending load; it does not read the source

    floe_project.run()

    expected = _expected(FIRST, SECOND)
    assert _read_pyiceberg(floe_project) == expected
    assert _read_duckdb(floe_project) == expected


@pytest.mark.parametrize("strategy", ["upsert", "delete-insert"])
def test_lists_emptied_in_a_load_with_no_nested_rows_at_all(
    floe_project: FloeProject, server: HTTPServer, strategy: str
) -> None:
    """A load whose items all have empty lists writes no row to any nested table; the lists of
    the items it merges are emptied all the same."""
    api = Api(server)
    _project(floe_project, api, strategy)
    api.items = FIRST
    floe_project.run()

    api.items = [_item(1, [], {}), _item(2, None, {})]
    floe_project.run()

    expected = _expected(FIRST, api.items)
    assert expected[1] == {"name": "item 1", "tags": [], "variants": {}}
    assert _read_pyiceberg(floe_project) == expected
    assert _read_duckdb(floe_project) == expected


def test_replace_empties_nested_tables_the_load_writes_no_row_to(
    floe_project: FloeProject, server: HTTPServer
) -> None:
    api = Api(server)
    _project(floe_project, api, "upsert")
    floe_project.write(
        floe_project.file.read_text().replace("write_mode: merge", "write_mode: replace")
    )
    api.items = FIRST
    floe_project.run()

    api.items = [_item(5, [], {})]
    floe_project.run()

    expected = {5: {"name": "item 5", "tags": [], "variants": {}}}
    assert _read_pyiceberg(floe_project) == expected
    assert _read_duckdb(floe_project) == expected
