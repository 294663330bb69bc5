"""floe's Iceberg load job, plugged into dlt's filesystem destination through its client class.

dlt hands the Iceberg job every file of one table in one load; this job commits them in a
single transaction (see :mod:`floe_dlt_destination_iceberg.writer`) instead of dlt's stock
write (whole load in memory; merges as one upsert per 1,000 rows, each its own commit).

This module is the destination's dlt adapter: dlt has no public API for a custom table-format
job, so it subclasses dlt's filesystem client and job and uses the private names listed in
:data:`PRIVATE_NAMES`, each where it is used with why. ``tests/test_dlt_adapter.py`` checks them.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from json import JSONDecodeError
from typing import TYPE_CHECKING, Any, ClassVar

import pydantic
from dlt.common import json
from dlt.common.destination.client import HasFollowupJobs, LoadJob, RunnableLoadJob
from dlt.common.destination.exceptions import (
    DestinationTerminalException,
    DestinationUndefinedEntity,
)
from dlt.common.schema.utils import (
    get_columns_names_with_prop,
    get_first_column_name_with_prop,
    get_nested_tables,
    get_root_table,
)
from dlt.common.utils import uniq_id
from dlt.destinations.impl.filesystem.factory import filesystem
from dlt.destinations.impl.filesystem.filesystem import (
    FilesystemClient,
    IcebergLoadFilesystemJob,
    ReferenceFollowupJob,
)
from dlt.destinations.job_impl import FinalizedLoadJob
from floe_core.layout import TableLayout
from floe_core.spec import SourceSpec
from floe_ingestion_dlt.audit import branch_name
from floe_ingestion_dlt.hints import UNIQUE_KEYS_HINT
from floe_ingestion_dlt.types import ColumnWindow
from pyiceberg import exceptions as pyiceberg_exceptions

from floe_dlt_destination_iceberg import nested, writer

if TYPE_CHECKING:
    from pyiceberg.table import Table

__all__ = [
    "INTERNAL_NAMES",
    "PRIVATE_NAMES",
    "FloeIcebergClient",
    "FloeIcebergLoadJob",
    "NestedMergeError",
    "floe_iceberg",
]

#: The private dlt names this adapter relies on (checked by the adapter's test).
PRIVATE_NAMES = (
    "RunnableLoadJob._job_client",  # the client that created the job: its catalog and config
    "RunnableLoadJob._load_id",  # tags each snapshot, so a replayed load is recognized
    "RunnableLoadJob._load_table",  # the table's dlt schema: disposition, keys, hints
    "IcebergLoadFilesystemJob._get_partition_spec_list",  # dlt's partition hints
    "FilesystemClient._write_to_json_file",  # dlt's own tables, written whole on local disks
    "FilesystemClient._catalog",  # the catalog opened once per client
    "FilesystemClient._catalog_namespaces",  # namespaces made once per client
    "filesystem._raw_capabilities",  # the merge strategies this destination supports
)


#: The names this adapter imports from dlt's internal modules (no public API offers a custom
#: table-format job for the filesystem destination), checked by the adapter's test.
INTERNAL_NAMES = (
    "dlt.common.destination.client.HasFollowupJobs",  # the Iceberg job's follow-up marker
    "dlt.common.destination.client.LoadJob",
    "dlt.common.destination.client.RunnableLoadJob",  # the job floe's Iceberg job is
    "dlt.common.schema.utils.get_columns_names_with_prop",  # merge keys of a table schema
    "dlt.common.schema.utils.get_first_column_name_with_prop",
    "dlt.common.schema.utils.get_nested_tables",  # a merged root's nested tables
    "dlt.common.schema.utils.get_root_table",
    "dlt.common.utils.uniq_id",  # temporary file names for dlt's own tables
    "dlt.destinations.impl.filesystem.factory.filesystem",  # the destination subclassed
    "dlt.destinations.impl.filesystem.filesystem.FilesystemClient",
    "dlt.destinations.impl.filesystem.filesystem.IcebergLoadFilesystemJob",
    "dlt.destinations.impl.filesystem.filesystem.ReferenceFollowupJob",
    "dlt.destinations.job_impl.FinalizedLoadJob",  # jobs dlt marks done without running
    "dlt.common.libs.pyiceberg.ensure_iceberg_compatible_arrow_schema",  # dlt's Arrow typing
    "dlt.destinations.impl.filesystem.iceberg_adapter.TABLE_PROPERTIES_HINT",
    "dlt.destinations.impl.filesystem.iceberg_partition_spec.build_iceberg_partition_spec",
)


#: What the catalog or pyiceberg answers when the write itself is refused (a schema the table
#: cannot take, a namespace or permission missing): the same write would be refused again.
#: (pyiceberg's ValidationException, a conflict with a concurrent commit, is not: a retry plans
#: the write again on the new snapshot.)
_REFUSED: tuple[type[Exception], ...] = (
    ValueError,  # pyarrow's ArrowInvalid too
    TypeError,
    pyiceberg_exceptions.ValidationError,
    pyiceberg_exceptions.NoSuchNamespaceError,
    pyiceberg_exceptions.BadRequestError,
    pyiceberg_exceptions.UnauthorizedError,
    pyiceberg_exceptions.ForbiddenError,
)
#: ValueErrors that say an answer could not be read, not that the write was refused: a commit
#: may have been applied, so the job is retried (and finds its load committed).
_ANSWER_UNREADABLE: tuple[type[Exception], ...] = (
    JSONDecodeError,
    pydantic.ValidationError,
)


class FloeIcebergLoadJob(IcebergLoadFilesystemJob):
    """Commits one table of one load atomically; replays of a committed load are skipped."""

    lineage: ClassVar[dict[str, str]] = {}
    #: a partition run's window: its rows of the table are replaced by the load's
    window: ClassVar[ColumnWindow | None] = None
    #: floe.yaml's partition_by/sort_by, for the source's root tables
    layout: ClassVar[TableLayout] = TableLayout()
    #: commit attempts when another writer commits first (re-planned on the new snapshot)
    max_commit_attempts: ClassVar[int] = 10

    def run(self) -> None:
        try:
            self._write()
        except _REFUSED as exc:
            if isinstance(exc, _ANSWER_UNREADABLE):
                raise
            # dlt retries any other failure of a job five times, a second apart, to the same end
            raise DestinationTerminalException(str(exc)) from exc

    def _write(self) -> None:
        from floe_dlt_destination_iceberg.evolution import evolve

        try:
            table = self._job_client.load_open_table("iceberg", self.load_table_name)
        except DestinationUndefinedEntity:
            self._create_table()
            table = self._job_client.load_open_table("iceberg", self.load_table_name)
        # the rule floe ingest plan reports: new columns added, allowed promotions made
        table = evolve(table, self.arrow_dataset.schema, self.load_table_name)
        if self.layout and "parent" not in self._load_table:
            from floe_dlt_destination_iceberg.layout import apply_layout

            table = apply_layout(table, self.layout, self.load_table_name)
        conflicts = 0
        while True:
            # committed already by this job before its answer was lost, or by a run killed
            # after it (or, after a conflict, by nobody: the write is planned again)
            if writer.committed_load(table, self._load_id):
                return
            try:
                self._commit(table, conflicts)
                return
            except pyiceberg_exceptions.CommitFailedException:
                conflicts += 1  # another writer committed first: plan again on its snapshot
                if conflicts >= self.max_commit_attempts:
                    raise
                time.sleep(random.uniform(0.05, 0.2) * 2 ** min(conflicts, 5))  # nosec B311  # retry jitter, not a secret
                table.refresh()

    def _branch(self, table: Table) -> str | None:
        """The branch this load commits ``table`` to: main, or under ``publish: audit`` the
        load's audit branch (``None``: staged, when the table has no snapshot yet)."""
        client = self._job_client
        if not isinstance(client, FloeIcebergClient) or client.audit_source is None:
            return writer.MAIN
        from floe_dlt_destination_iceberg.publish import write_branch

        return write_branch(table, branch_name(self._load_id))

    def _name_staged(self, table: Table, branch: str | None) -> None:
        """Name the snapshot a write staged (``branch`` ``None``) by the load's audit branch;
        :func:`publish.audit_and_publish` finds it by its load id if a crash came first."""
        if branch is None:
            from floe_dlt_destination_iceberg.publish import name_staged

            name_staged(table, self._load_id, branch_name(self._load_id))

    def _commit(self, table: Table, conflicts: int = 0) -> None:
        branch = self._branch(table)
        properties = {
            **self.lineage,
            writer.LOAD_ID_PROPERTY: self._load_id,
            "floe.table": self.load_table_name,
            # rows of this load, from the Parquet footers: what the engine reports as loaded
            writer.ROWS_PROPERTY: str(self.arrow_dataset.count_rows()),
            writer.CONFLICTS_PROPERTY: str(conflicts),
        }
        disposition = self._load_table["write_disposition"]
        strategy = str(self._load_table.get("x-merge-strategy", "upsert"))
        if disposition == "merge" and "parent" in self._load_table:
            self._merge_nested(table, strategy, properties, branch)
        elif disposition == "merge":
            if strategy != "insert-only":
                self._settle_nested_without_rows(table, properties)
            keys = _root_merge_keys(self._load_table)
            unique = bool(self._load_table.get(UNIQUE_KEYS_HINT))
            writer.merge(
                table, self.arrow_dataset, keys, strategy, properties, branch, keys_unique=unique
            )
        elif disposition == "replace":
            writer.replace(table, self.arrow_dataset, properties, branch)
        elif self.window is not None:
            writer.replace_window(table, self.arrow_dataset, self._window(), properties, branch)
        else:
            writer.append(table, self.arrow_dataset, properties, branch)
        self._name_staged(table, branch)

    def _window(self) -> ColumnWindow:
        """The run's window, its column named as dlt named it in the table.

        Raises:
            ValueError: a nested table (it has no such column: its rows cannot be replaced by
                the window's, and appending them would double them).
        """
        assert self.window is not None  # nosec B101  # narrows the type; checked upstream
        if "parent" in self._load_table:
            raise ValueError(
                f"table {self.load_table_name}: a nested table cannot be loaded by time window; "
                "keep nested data in its parent's columns (dlt's max_table_nesting: 0) or drop "
                "partitions:"
            )
        column = self._job_client.schema.naming.normalize_identifier(self.window.column)
        return ColumnWindow(column, self.window.start, self.window.end)

    def _create_table(self) -> None:
        """Create the table with dlt's partitioning and properties at the location the catalog
        assigns (catalogs such as S3 Tables reject client-chosen locations)."""
        from dlt.common.libs.pyiceberg import ensure_iceberg_compatible_arrow_schema
        from dlt.destinations.impl.filesystem.iceberg_adapter import TABLE_PROPERTIES_HINT
        from dlt.destinations.impl.filesystem.iceberg_partition_spec import (
            build_iceberg_partition_spec,
        )

        from floe_dlt_destination_iceberg.catalog import create_table
        from floe_dlt_destination_iceberg.layout import dlt_partition_specs, iceberg_sort_order

        catalog = self._job_client.get_open_table_catalog("iceberg")
        table_id = f"{self._job_client.dataset_name}.{self.load_table_name}"
        schema: Any = self._load_table
        properties = {
            **(self._job_client.config.iceberg_table_properties or {}),
            **(schema.get(TABLE_PROPERTIES_HINT) or {}),
        }
        arrow_schema = ensure_iceberg_compatible_arrow_schema(self.arrow_dataset.schema)
        options: dict[str, Any] = {"schema": arrow_schema, "properties": properties}
        layout = self.layout if "parent" not in schema else None
        spec_list = self._get_partition_spec_list()
        if layout and layout.partition_by:
            spec_list = dlt_partition_specs(layout, self.load_table_name, arrow_schema.names)
        if spec_list or layout:
            spec, iceberg_schema = build_iceberg_partition_spec(arrow_schema, spec_list or [])
            options = {"schema": iceberg_schema, "partition_spec": spec, "properties": properties}
            if layout and layout.sort_by:
                options["sort_order"] = iceberg_sort_order(layout, iceberg_schema)
        create_table(catalog, table_id, **options)  # another writer may have created it first

    def _settle_nested_without_rows(self, root: Table, properties: dict[str, str]) -> None:
        """Nested tables of this merged root table that have no rows in this load get no job of
        their own: empty their lists of the root rows the merge touches.

        Runs before the root table commits, each nested table in a commit tagged with this load,
        so a rerun after a crash in between skips the nested tables done and finds the same
        touched root rows (the root table is still as it was before the load).
        """
        import pyarrow.dataset as ds

        root_schema: Any = self._load_table  # dlt's PreparedTableSchema is a TTableSchema
        tables = self._job_client.schema.tables
        roots: Any = None
        for schema in get_nested_tables(tables, self.load_table_name, include_self=False):
            name = str(schema["name"])
            if _package_files(self.file_paths[0], name):
                continue  # its own job brings it to this load's state
            try:
                table = self._job_client.load_open_table("iceberg", name)
            except DestinationUndefinedEntity:
                continue
            if table.current_snapshot() is None or writer.committed_load(table, self._load_id):
                continue
            empty = ds.dataset(table.schema().as_arrow().empty_table())
            tagged = {**properties, "floe.table": name, writer.ROWS_PROPERTY: "0"}
            if roots is None:
                roots = nested.touched_roots(
                    root,
                    _package_files(self.file_paths[0], self.load_table_name),
                    _root_merge_keys(root_schema),
                    get_first_column_name_with_prop(root_schema, "row_key") or "_dlt_id",
                    self._load_id,
                )
            root_key = get_first_column_name_with_prop(schema, "root_key")
            if root_key is None:
                raise NestedMergeError(_no_root_key(name, self.load_table_name))
            branch = self._branch(table)
            writer.merge_nested(table, empty, root_key, roots, None, tagged, branch)
            self._name_staged(table, branch)

    def _merge_nested(
        self, table: Table, strategy: str, properties: dict[str, str], branch: str | None
    ) -> None:
        """Bring this nested table to the incoming lists of every root row the load touches
        (``insert-only``: add the lists of the root rows it inserts).

        Runs before or after the root table's job of the same load: the root rows come from the
        root's files in this load package and the root table before this load.
        """
        schema: Any = self._load_table
        root_schema: Any = get_root_table(self._job_client.schema.tables, self.load_table_name)
        root_key = get_first_column_name_with_prop(schema, "root_key")
        if root_key is None:
            raise NestedMergeError(_no_root_key(self.load_table_name, root_schema["name"]))
        try:
            root: Table | None = self._job_client.load_open_table("iceberg", root_schema["name"])
        except DestinationUndefinedEntity:
            root = None
        find = nested.inserted_roots if strategy == "insert-only" else nested.touched_roots
        roots = find(
            root,
            _package_files(self.file_paths[0], root_schema["name"]),
            _root_merge_keys(root_schema),
            get_first_column_name_with_prop(root_schema, "row_key") or "_dlt_id",
            self._load_id,
        )
        if strategy == "insert-only":
            writer.insert_nested(table, self.arrow_dataset, root_key, roots, properties, branch)
            return
        row_key = get_first_column_name_with_prop(schema, "row_key")
        writer.merge_nested(table, self.arrow_dataset, root_key, roots, row_key, properties, branch)


def _no_root_key(table_name: str, root_name: str) -> str:
    return (
        f"nested table {table_name!r} of merged table {root_name!r} has no root key column "
        "(_dlt_root_id): its rows cannot be matched to the merged rows"
    )


def _package_files(sibling: str, table_name: str) -> list[str]:
    """The Parquet files of ``table_name`` in the load package folder that holds ``sibling``.

    dlt's load package layout: every completed file of a package stays in one folder
    (``completed_jobs``) until the package is done, named ``<table>.<file_id>.<retry>.<format>``
    (parsed with dlt's own parser), and a table chain's followup jobs start only once all of the
    chain's files are completed.
    """
    from dlt.common.storages.load_package import ParsedLoadJobFileName

    folder = os.path.dirname(sibling)
    files = []
    for name in sorted(os.listdir(folder)):
        try:
            parsed = ParsedLoadJobFileName.parse(name)
        except ValueError:
            continue
        if parsed.table_name == table_name and parsed.file_format == "parquet":
            files.append(os.path.join(folder, name))
    return files


class NestedMergeError(ValueError):
    """A nested table of a merged table cannot be merged: its rows name no root row."""


def _root_merge_keys(schema: Any) -> list[str]:
    keys = get_columns_names_with_prop(schema, "primary_key") or get_columns_names_with_prop(
        schema, "merge_key"
    )
    if not keys:
        raise ValueError(f"table {schema['name']!r} is merged but has no primary_key or merge_key")
    return keys


class _NothingToDo(RunnableLoadJob):
    """A job with nothing to do that runs anyway, so dlt's loader hears at once that it is done.

    dlt's loader sleeps until a running job signals it is done, or for a second. The filesystem
    destination marks the files of an Iceberg table (gathered into one followup job) and its
    state file done without running them, so nothing signals and every load slept that second.
    """

    def run(self) -> None:
        pass


class _GatheredFile(HasFollowupJobs, _NothingToDo):
    """A table file that the table's followup job (:class:`FloeIcebergLoadJob`) writes."""


class FloeIcebergClient(FilesystemClient):
    """dlt's filesystem client with floe's Iceberg job and floe's catalog.

    The catalog is opened from properties held by the class rather than resolved from dlt's
    config providers, so its credentials never enter dlt's config trace (``trace.pickle``).
    """

    job_class: ClassVar[type[FloeIcebergLoadJob]] = FloeIcebergLoadJob
    catalog_name: ClassVar[str] = "floe"
    catalog_properties: ClassVar[dict[str, str]] = {}
    #: the source whose loads are audited before they are published (``publish: audit``)
    audit_source: ClassVar[SourceSpec | None] = None

    def complete_load(self, load_id: str) -> None:
        """Under ``publish: audit``, audit the load's branches and publish them before dlt
        records the load (its state included): a failed audit leaves the load package pending,
        so the engine aborts it and the pipeline state goes back to where the load began."""
        if self.audit_source is not None:
            from floe_dlt_destination_iceberg.publish import audit_and_publish

            catalog = self.get_open_table_catalog("iceberg")
            tables = [t for t in self.schema.data_table_names() if not t.startswith("_dlt")]
            audit_and_publish(catalog, self.dataset_name, tables, self.audit_source, load_id)
        super().complete_load(load_id)

    def get_reference_followup_job_class(  # type: ignore[override]
        self, table: Any
    ) -> type[ReferenceFollowupJob] | None:
        if table.get("table_format") == "iceberg":
            return self.job_class
        return FilesystemClient.get_reference_followup_job_class(table)

    def create_load_job(
        self, table: Any, file_path: str, load_id: str, restore: bool = False
    ) -> LoadJob:
        job = super().create_load_job(table, file_path, load_id, restore)
        if isinstance(job, FinalizedLoadJob) and job.state() == "completed":
            return (_GatheredFile if isinstance(job, HasFollowupJobs) else _NothingToDo)(file_path)
        return job

    def create_dataset(self) -> None:
        """The namespace's folder may exist already: the catalog, or another tool, made a table
        there before dlt first wrote to it (dlt's own call refuses an existing local folder)."""
        self.fs_client.makedirs(self.dataset_path, exist_ok=True)

    def _write_to_json_file(self, filepath: str, data: dict[str, Any]) -> None:
        """Write dlt's own tables (schema versions, pipeline state, loads) whole or not at all.

        dlt writes them in place; on a local disk a kill mid-write leaves half a file, which
        every later run reads back and fails on. Object stores put an object whole already.
        """
        if not self.is_local_filesystem:
            super()._write_to_json_file(filepath, data)
            return
        # in the dataset's folder, outside every table's folder: dlt lists those by prefix
        temporary = os.path.join(self.dataset_path, f".{uniq_id()}.tmp")
        try:
            self.fs_client.write_text(temporary, json.dumps(data), encoding="utf-8")
            os.replace(temporary, filepath)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)
            raise

    def load_open_table(self, table_format: Any, table_name: str, **kwargs: Any) -> Any:
        """The catalog's table ``table_name``; a table the catalog does not know does not exist.

        dlt's own lookup registers a table it finds by listing the table's folder when the
        catalog does not know it, from the newest metadata file there. That file can be a
        creator's killed mid-write (empty), or one no commit ever made current; floe's catalogs
        are persistent, so the catalog is the only record of what is committed.
        """
        if table_format != "iceberg" or kwargs or not self.catalog_properties:
            return super().load_open_table(table_format, table_name, **kwargs)
        from pyiceberg.exceptions import NoSuchTableError

        catalog = self.get_open_table_catalog("iceberg")
        try:
            return catalog.load_table(f"{self.dataset_name}.{table_name}")
        except NoSuchTableError:
            raise DestinationUndefinedEntity(table_name) from None

    def get_open_table_catalog(self, table_format: Any, catalog_name: str | None = None) -> Any:
        if table_format != "iceberg" or not self.catalog_properties:
            return super().get_open_table_catalog(table_format, catalog_name)
        if not self._catalog:
            from floe_dlt_destination_iceberg.catalog import catalog_from

            self._catalog = catalog_from(self.catalog_name, self.catalog_properties)
        if self.dataset_name not in self._catalog_namespaces:
            from floe_dlt_destination_iceberg.catalog import ensure_namespace

            ensure_namespace(
                self._catalog, self.dataset_name, self.config.iceberg_namespace_properties or {}
            )
            self._catalog_namespaces.add(self.dataset_name)
        return self._catalog


class floe_iceberg(filesystem):  # noqa: N801 - dlt names destination factories in lowercase
    """dlt's filesystem destination with floe's Iceberg load job and catalog."""

    lineage: ClassVar[dict[str, str]] = {}
    window: ClassVar[ColumnWindow | None] = None
    layout: ClassVar[TableLayout] = TableLayout()
    catalog_name: ClassVar[str] = "floe"
    catalog_properties: ClassVar[dict[str, str]] = {}
    audit_source: ClassVar[SourceSpec | None] = None

    @property
    def client_class(self) -> type[FilesystemClient]:
        job = type(
            "FloeIcebergLoadJob",
            (FloeIcebergLoadJob,),
            {"lineage": dict(self.lineage), "window": self.window, "layout": self.layout},
        )
        attributes = {
            "job_class": job,
            "catalog_name": self.catalog_name,
            "catalog_properties": dict(self.catalog_properties),
            "audit_source": self.audit_source,
        }
        return type("FloeIcebergClient", (FloeIcebergClient,), attributes)

    def _raw_capabilities(self) -> Any:
        caps = super()._raw_capabilities()
        caps.supported_merge_strategies = ["upsert", "delete-insert", "insert-only"]
        return caps

    @classmethod
    def configured(
        cls,
        catalog_name: str,
        catalog_properties: dict[str, str],
        lineage: dict[str, str],
        window: ColumnWindow | None = None,
        layout: TableLayout | None = None,
        audit_source: SourceSpec | None = None,
    ) -> type[floe_iceberg]:
        """A factory class writing through this catalog, recording ``lineage`` in snapshots;
        with ``window``, replacing that window's rows of each table that has its column (and
        auditing each load of ``audit_source`` before publishing it)."""
        attributes = {
            "catalog_name": catalog_name,
            "catalog_properties": dict(catalog_properties),
            "lineage": dict(lineage),
            "window": window,
            "layout": layout or TableLayout(),
            "audit_source": audit_source,
        }
        return type("floe_iceberg", (cls,), attributes)
