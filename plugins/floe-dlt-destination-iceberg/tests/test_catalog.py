"""floe's catalog and storage settings become the right pyiceberg properties, and real catalogs open."""

from __future__ import annotations

from pathlib import Path

from floe_core.spec import CatalogSpec, S3Spec, StorageSpec
from floe_dlt_destination_iceberg import IcebergDestination, catalog_properties
from floe_ingestion_dlt.types import DestinationSettings
from floe_testing.fixtures.databases import Database
from floe_testing.fixtures.ingestion import FloeProject
from pydantic import SecretStr


def settings(catalog: CatalogSpec, storage: StorageSpec | None = None) -> DestinationSettings:
    return DestinationSettings(catalog=catalog, storage=storage or StorageSpec(), project_dir="/p")


def test_embedded_sqlite_default() -> None:
    props = catalog_properties(settings(CatalogSpec()))
    assert props == {
        "type": "sql",
        "uri": "sqlite:////p/.floe/catalog.db",
        "warehouse": "file:///p/.floe/warehouse",
    }


def test_sql_catalog_on_postgresql_with_s3_storage() -> None:
    props = catalog_properties(
        settings(
            CatalogSpec(uri="postgresql+psycopg2://u@db/catalog", warehouse="s3://lake/wh"),
            StorageSpec(
                s3=S3Spec(
                    endpoint="http://127.0.0.1:9000",
                    access_key_id="key",
                    secret_access_key=SecretStr("secret"),
                    region="us-east-1",
                    path_style=True,
                )
            ),
        )
    )
    assert props == {
        "type": "sql",
        "uri": "postgresql+psycopg2://u@db/catalog",
        "warehouse": "s3://lake/wh",
        "s3.endpoint": "http://127.0.0.1:9000",
        "s3.access-key-id": "key",
        "s3.secret-access-key": "secret",
        "s3.region": "us-east-1",
        "s3.force-virtual-addressing": "false",
    }


def test_rest_catalog() -> None:
    props = catalog_properties(
        settings(
            CatalogSpec(
                type="rest",
                uri="https://polaris.example/api/catalog",
                warehouse="lakehouse",
                credential=SecretStr("client:secret"),
                token=SecretStr("tok"),
                scope="PRINCIPAL_ROLE:ALL",
                properties={"header.X-Iceberg-Access-Delegation": "vended-credentials"},
            )
        )
    )
    assert props == {
        "type": "rest",
        "uri": "https://polaris.example/api/catalog",
        "warehouse": "lakehouse",
        "credential": "client:secret",
        "oauth2-server-uri": "https://polaris.example/api/catalog/v1/oauth/tokens",
        "token": "tok",
        "scope": "PRINCIPAL_ROLE:ALL",
        "header.X-Iceberg-Access-Delegation": "vended-credentials",
    }


def test_health_check_opens_the_catalog(tmp_path: Path) -> None:
    ok = DestinationSettings(
        CatalogSpec(uri=f"sqlite:///{tmp_path}/c.db", warehouse=str(tmp_path)),
        StorageSpec(),
        str(tmp_path),
    )
    assert IcebergDestination().health_check(ok, 5.0).healthy


def test_shared_sql_catalog_on_postgresql(
    floe_project: FloeProject, postgres_db: Database, tmp_path: Path
) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "src.db") as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT)")
        db.executemany("INSERT INTO events VALUES (?, ?)", [(i, "k") for i in range(1, 101)])
    catalog_url = postgres_db.url.replace("postgresql://", "postgresql+psycopg2://")
    floe_project.write(
        f"""
        catalog: {{type: sql, uri: "{catalog_url}", warehouse: shared_wh}}
        ingestion:
          sources:
            - name: events
              type: sql_database
              config: {{credentials: "sqlite:///src.db", tables: [events]}}
              destination: {{namespace: shared}}
        """
    )
    assert floe_project.run().rows_loaded == 100
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("floe", uri=catalog_url, warehouse=(tmp_path / "shared_wh").as_uri())
    assert catalog.load_table("shared.events").scan().to_arrow().num_rows == 100


def test_state_url_defaults() -> None:
    from floe_dlt_destination_iceberg.catalog import state_url

    assert state_url(settings(CatalogSpec())) == "file:///p/.floe/warehouse"
    rest = CatalogSpec(type="rest", uri="http://127.0.0.1:1", warehouse="lake")
    assert state_url(settings(rest)) == "file:///p/.floe/state"
    explicit = StorageSpec(state_url="s3://data/floe")
    assert state_url(settings(rest, explicit)) == "s3://data/floe"
