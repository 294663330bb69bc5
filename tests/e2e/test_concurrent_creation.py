"""Creating a namespace or a table is idempotent under concurrency on every catalog.

Eight processes wait at a barrier, then all open the catalog (new in every round for the SQL
catalogs, so creating the catalog's own tables races too), create one new namespace, a table each
and one table they share. Every creation succeeds and the catalog holds each object once.
``FLOE_RACE_ROUNDS`` sets the rounds per catalog: 30 makes a race lost one time in ten show up
with probability 1 - 0.9**30 > 95%.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from floe_testing.catalog_race import race
from floe_testing.fixtures.databases import Database
from floe_testing.fixtures.ingestion import FloeProject
from floe_testing.fixtures.seaweedfs import SeaweedFS

WORKERS = 8
ROUNDS = int(os.environ.get("FLOE_RACE_ROUNDS", "30"))


def _verify(catalog_props: dict[str, str], namespace: str) -> None:
    from floe_dlt_destination_iceberg.catalog import catalog_from

    with catalog_from("floe", catalog_props) as catalog:
        assert catalog.namespace_exists(namespace)
        names = sorted(name for _, name in catalog.list_tables(namespace))
    assert names == sorted([*(f"own_{i}" for i in range(WORKERS)), "shared"])


def _assert_race_is_gone(rounds: list[tuple[str, dict[str, str]]]) -> None:
    result = race(WORKERS, rounds)
    assert result.failures == []
    assert result.successes == WORKERS * len(rounds)
    for namespace, properties in rounds:
        _verify(properties, namespace)


def test_new_sqlite_catalogs_namespaces_and_tables(tmp_path: Path) -> None:
    warehouse = (tmp_path / "warehouse").as_uri()
    (tmp_path / "warehouse").mkdir()
    rounds = [
        (
            "bronze",
            {"type": "sql", "uri": f"sqlite:///{tmp_path}/catalog_{n}.db", "warehouse": warehouse},
        )
        for n in range(ROUNDS)
    ]
    _assert_race_is_gone(rounds)


@pytest.mark.requires_service
def test_new_postgresql_catalogs_namespaces_and_tables(
    tmp_path: Path, postgres_db: Database
) -> None:
    import sqlalchemy as sa

    url = postgres_db.url.replace("postgresql://", "postgresql+psycopg2://")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for n in range(ROUNDS):
            connection.execute(sa.text(f"CREATE SCHEMA race_{n}"))
    engine.dispose()
    warehouse = (tmp_path / "warehouse").as_uri()
    (tmp_path / "warehouse").mkdir()
    rounds = [  # each round's catalog lives in a schema of its own: its tables are new
        (
            "bronze",
            {
                "type": "sql",
                "uri": f"{url}?options=-csearch_path%3Drace_{n}",
                "warehouse": warehouse,
            },
        )
        for n in range(ROUNDS)
    ]
    _assert_race_is_gone(rounds)


@pytest.mark.requires_service
def test_rest_catalog_namespaces_and_tables(
    tmp_path: Path, seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch
) -> None:
    from floe_dlt_destination_iceberg.catalog import catalog_properties

    monkeypatch.setenv("S3_SECRET", seaweedfs.secret_key)
    project = FloeProject(tmp_path, seaweedfs.floe_header("race-state"))
    project.write("ingestion:\n  sources: []\n")
    properties = catalog_properties(project.plugin().engine.settings)
    prefix = f"race_{uuid.uuid4().hex[:8]}"
    _assert_race_is_gone([(f"{prefix}_{n}", properties) for n in range(ROUNDS)])
