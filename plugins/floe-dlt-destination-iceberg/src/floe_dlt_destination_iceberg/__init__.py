"""Apache Iceberg destination for floe."""

from floe_dlt_destination_iceberg.catalog import catalog_properties, open_catalog
from floe_dlt_destination_iceberg.destination import IcebergDestination

__all__ = ["IcebergDestination", "catalog_properties", "open_catalog", "read_table"]


def read_table(settings: object, name: str, limit: int | None = None) -> object:
    """``namespace.table`` as a ``pyarrow.Table`` (for tests and the CLI)."""
    from floe_ingestion_dlt.types import DestinationSettings

    assert isinstance(settings, DestinationSettings)  # nosec B101  # narrows the type; checked upstream
    return IcebergDestination().read_table(settings, name, limit)
