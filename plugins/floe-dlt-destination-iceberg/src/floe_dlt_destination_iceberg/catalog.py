"""Mapping floe's ``catalog:`` and ``storage:`` blocks to pyiceberg properties, in one place."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from floe_ingestion_dlt.types import DestinationSettings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

__all__ = ["catalog_from", "catalog_properties", "open_catalog", "state_url", "warehouse_url"]


def warehouse_url(settings: DestinationSettings) -> str:
    """A sql catalog's warehouse as a URL (``file:///...`` for folders, ``s3://...`` as given);
    a rest catalog's warehouse name as given."""
    catalog = settings.catalog
    if catalog.type == "rest":
        return catalog.warehouse or ""  # the catalog's name for its warehouse
    warehouse = catalog.warehouse or str(Path(settings.project_dir) / ".floe" / "warehouse")
    if "://" in warehouse:
        return warehouse
    return Path(warehouse).resolve().as_uri()


def state_url(settings: DestinationSettings) -> str:
    """Where dlt keeps pipeline state and load records (its filesystem ``bucket_url``).

    Tables live wherever the catalog puts them; this folder holds only dlt's bookkeeping, so the
    state survives the loss of the local pipelines folder.
    """
    configured = settings.storage.state_url
    if configured is None and settings.catalog.type == "sql":
        return warehouse_url(settings)
    if configured is None:
        configured = str(Path(settings.project_dir) / ".floe" / "state")
    if "://" in configured:
        return configured
    return Path(configured).resolve().as_uri()


def _s3_properties(settings: DestinationSettings) -> dict[str, str]:
    s3 = settings.storage.s3
    if s3 is None:
        return {}
    props: dict[str, str] = {}
    if s3.endpoint:
        props["s3.endpoint"] = s3.endpoint
    if s3.access_key_id:
        props["s3.access-key-id"] = s3.access_key_id
    if s3.secret_access_key:
        props["s3.secret-access-key"] = s3.secret_access_key.get_secret_value()
    if s3.session_token:
        props["s3.session-token"] = s3.session_token.get_secret_value()
    if s3.region:
        props["s3.region"] = s3.region
    if s3.path_style:
        props["s3.force-virtual-addressing"] = "false"
    return props


def catalog_properties(settings: DestinationSettings) -> dict[str, str]:
    """pyiceberg properties for the configured catalog. Contains secrets: never log it."""
    catalog = settings.catalog
    props: dict[str, str] = {"type": catalog.type}
    if catalog.type == "sql":
        props["uri"] = catalog.uri or (
            f"sqlite:///{Path(settings.project_dir).resolve() / '.floe' / 'catalog.db'}"
        )
        props["warehouse"] = warehouse_url(settings)
    else:
        assert catalog.uri is not None
        props["uri"] = catalog.uri
        if catalog.warehouse:
            props["warehouse"] = catalog.warehouse
        if catalog.credential:
            props["credential"] = catalog.credential.get_secret_value()
            # the REST spec's token endpoint; set explicitly (pyiceberg's implicit default is
            # deprecated). `properties` may point it elsewhere.
            props["oauth2-server-uri"] = f"{catalog.uri.rstrip('/')}/v1/oauth/tokens"
        if catalog.token:
            props["token"] = catalog.token.get_secret_value()
        if catalog.scope:
            props["scope"] = catalog.scope
    props.update(_s3_properties(settings))
    props.update(catalog.properties)
    return props


def prepare_local(settings: DestinationSettings) -> None:
    """Create the folders an embedded catalog and a local warehouse live in."""
    props = catalog_properties(settings)
    uri = props.get("uri", "")
    if props["type"] == "sql" and uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    for url in (props.get("warehouse", ""), state_url(settings)):
        if url.startswith("file://"):
            Path(url.removeprefix("file://")).mkdir(parents=True, exist_ok=True)


_PG_CONNECT_TIMEOUT_SECONDS = 10


def catalog_from(name: str, properties: dict[str, str]) -> Catalog:
    """The pyiceberg catalog for ``properties``, never waiting forever for a silent server: a
    REST catalog's requests time out, and so does connecting to a PostgreSQL catalog (libpq
    waits forever by default) unless its URI sets ``connect_timeout``."""
    if properties.get("type") == "rest":
        from floe_dlt_destination_iceberg._pyiceberg_adapter import TimeoutRestCatalog

        return TimeoutRestCatalog(name, **properties)
    from pyiceberg.catalog import load_catalog

    uri = properties.get("uri", "")
    if uri.startswith("postgresql") and "connect_timeout=" not in uri:
        timeout = f"connect_timeout={_PG_CONNECT_TIMEOUT_SECONDS}"
        properties = {**properties, "uri": f"{uri}{'&' if '?' in uri else '?'}{timeout}"}
    return load_catalog(name, **properties)


def open_catalog(settings: DestinationSettings) -> Catalog:
    """The pyiceberg catalog floe writes through."""
    prepare_local(settings)
    return catalog_from(settings.catalog.name, catalog_properties(settings))
