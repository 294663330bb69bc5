"""Mapping floe's ``catalog:`` and ``storage:`` blocks to pyiceberg properties, in one place."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from floe_ingestion_dlt.types import DestinationSettings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

_T = TypeVar("_T")

__all__ = [
    "catalog_from",
    "catalog_properties",
    "create_table",
    "ensure_namespace",
    "open_catalog",
    "state_url",
    "warehouse_url",
]


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
        assert catalog.uri is not None  # nosec B101  # narrows the type; checked upstream
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


#: How often opening a SQL catalog is retried when a concurrent process is creating its tables.
_CATALOG_INIT_ATTEMPTS = 5


def catalog_from(name: str, properties: dict[str, str]) -> Catalog:
    """The pyiceberg catalog for ``properties``, never waiting forever for a silent server: a
    REST catalog's requests time out, and so does connecting to a PostgreSQL catalog (libpq
    waits forever by default) unless its URI sets ``connect_timeout``.

    Opening a SQL catalog creates its tables when they are absent; several processes opening a
    new catalog at once race to create them and all but one fail ("table already exists", a
    unique-constraint error on PostgreSQL's type names). The losers open it again and find the
    tables the winner made.
    """
    if properties.get("type") == "rest":
        from floe_dlt_destination_iceberg._pyiceberg_adapter import timeout_rest_catalog

        return timeout_rest_catalog(name, **properties)
    from pyiceberg.catalog import load_catalog
    from sqlalchemy.exc import DBAPIError

    uri = properties.get("uri", "")
    if uri.startswith("postgresql") and "connect_timeout=" not in uri:
        timeout = f"connect_timeout={_PG_CONNECT_TIMEOUT_SECONDS}"
        properties = {**properties, "uri": f"{uri}{'&' if '?' in uri else '?'}{timeout}"}
    for attempt in range(1, _CATALOG_INIT_ATTEMPTS + 1):
        try:
            return load_catalog(name, **properties)
        except DBAPIError as error:
            if attempt == _CATALOG_INIT_ATTEMPTS or not _lost_creation_race(error):
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _lost_creation_race(error: Exception) -> bool:
    """Whether ``error`` is a concurrent creator's object getting there first, in the forms the
    SQL catalogs' databases report it (SQLite, PostgreSQL, MySQL/MariaDB)."""
    from sqlalchemy.exc import IntegrityError

    text = str(error).lower()
    return isinstance(error, IntegrityError) or "already exists" in text or "duplicate" in text


#: How often creating a namespace or a table is retried when a REST catalog answers 5xx: some
#: (SeaweedFS's) answer 500 to a request racing a concurrent creation of the same namespace.
_CREATE_ATTEMPTS = 5


def _retrying_server_errors(create: Callable[[], _T]) -> _T:
    """``create()`` again after a catalog's 5xx answer: creating is idempotent here, so asking
    again is safe, and the race behind such an answer is over a moment later."""
    from pyiceberg.exceptions import ServerError

    for attempt in range(1, _CREATE_ATTEMPTS + 1):
        try:
            return create()
        except ServerError:
            if attempt == _CREATE_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def ensure_namespace(
    catalog: Catalog, namespace: str, properties: dict[str, str] | None = None
) -> None:
    """Create ``namespace`` unless it exists; a concurrent creator getting there first is
    success, in whatever form the catalog reports it (pyiceberg's SQL catalog checks, then
    inserts, so the loser of a race sees a unique-constraint error instead of "already
    exists"; a REST catalog may answer 5xx while a concurrent creation completes)."""
    from pyiceberg.exceptions import NamespaceAlreadyExistsError
    from sqlalchemy.exc import DBAPIError

    def create() -> None:
        try:
            catalog.create_namespace(namespace, properties or {})
        except NamespaceAlreadyExistsError:
            return
        except DBAPIError as error:
            if not (_lost_creation_race(error) and catalog.namespace_exists(namespace)):
                raise

    _retrying_server_errors(create)


def create_table(catalog: Catalog, identifier: str, **options: Any) -> Table:
    """Create the table unless it exists and return it. A concurrent creator getting there first
    is success: the table it made is returned, and the write that follows evolves it or fails
    with its own clear error when the schemas cannot be reconciled."""
    from pyiceberg.exceptions import TableAlreadyExistsError
    from sqlalchemy.exc import DBAPIError

    def create() -> Table:
        try:
            return catalog.create_table(identifier, **options)
        except TableAlreadyExistsError:
            return catalog.load_table(identifier)
        except DBAPIError as error:
            if not (_lost_creation_race(error) and catalog.table_exists(identifier)):
                raise
            return catalog.load_table(identifier)

    return _retrying_server_errors(create)


def open_catalog(settings: DestinationSettings) -> Catalog:
    """The pyiceberg catalog floe writes through."""
    prepare_local(settings)
    return catalog_from(settings.catalog.name, catalog_properties(settings))
