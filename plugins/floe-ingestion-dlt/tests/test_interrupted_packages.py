"""Runs killed where dlt leaves something it never cleans up; the next run settles it.

dlt renames the normalized package into ``load/normalized`` and then deletes the extracted package
it came from, and saves its files atomically through a temporary file and a rename. The crash
harness (``floe_testing.crash``) found kills between both pairs of steps; here each kill is placed
exactly there, by stopping the process's work at that point.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from dlt.common.storages.file_storage import FileStorage
from dlt.common.storages.load_package import PackageStorage
from dlt.common.utils import uniq_id
from floe_testing.fixtures.ingestion import FloeProject
from fsspec.implementations.local import LocalFileSystem

ROWS = 1_000


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler sees it as an error."""


def test_a_package_left_both_extracted_and_normalized_loads_once(
    floe_project: FloeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = floe_project.sqlite_events(ROWS, incremental=True)
    assert floe_project.run().rows_loaded == ROWS  # the pipeline has loaded before
    with sqlite3.connect(source) as db:
        db.executemany(
            "INSERT INTO events VALUES (?, ?)", ((i, f"e{i}") for i in range(ROWS, 2 * ROWS))
        )
    delete = PackageStorage.delete_package

    def killed_at_cleanup(self: PackageStorage, load_id: str, *args: Any, **kwargs: Any) -> None:
        if Path(self.storage.storage_path).parts[-2:] == ("normalize", "extracted"):
            raise _Killed
        delete(self, load_id, *args, **kwargs)

    monkeypatch.setattr(PackageStorage, "delete_package", killed_at_cleanup)
    with pytest.raises(_Killed):
        floe_project.run()
    monkeypatch.setattr(PackageStorage, "delete_package", delete)
    pipeline = floe_project.root / ".floe" / "pipelines" / "floe__events__bronze"
    [load_id] = [p.name for p in (pipeline / "normalize" / "extracted").iterdir()]
    assert (pipeline / "load" / "normalized" / load_id).is_dir()  # the package is there twice

    run = floe_project.run()

    assert run.rows_loaded == ROWS
    ids = floe_project.read("bronze.events")["id"].to_pylist()
    assert sorted(ids) == list(range(2 * ROWS))
    for pending in ("normalize/extracted", "load/new", "load/normalized"):
        assert not any((pipeline / pending).iterdir()), pending


def test_a_kill_inside_an_atomic_save_leaves_no_file_behind(
    floe_project: FloeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    floe_project.sqlite_events(ROWS, incremental=True)
    save = FileStorage.save_atomic

    def killed_before_rename(storage_path: str, relative_path: str, *args: Any, **kw: Any) -> str:
        if relative_path.endswith(PackageStorage.PACKAGE_COMPLETED_FILE_NAME):
            # dlt writes a temporary file and renames it; the kill falls between the two
            (Path(storage_path) / uniq_id(8)).write_text("loaded", encoding="utf-8")
            raise _Killed
        return save(storage_path, relative_path, *args, **kw)

    monkeypatch.setattr(FileStorage, "save_atomic", staticmethod(killed_before_rename))
    with pytest.raises(_Killed):
        floe_project.run()
    monkeypatch.setattr(FileStorage, "save_atomic", staticmethod(save))
    normalized = (
        floe_project.root / ".floe" / "pipelines" / "floe__events__bronze" / "load" / "normalized"
    )
    assert len([p for p in normalized.iterdir() if p.is_file()]) == 1

    run = floe_project.run()

    assert run.rows_loaded == ROWS
    assert sorted(floe_project.read("bronze.events")["id"].to_pylist()) == list(range(ROWS))
    assert list(normalized.iterdir()) == []


#: dlt's own tables, each by a key only its documents hold
_DLT_TABLE_KEYS = {
    "_dlt_version": "schema",
    "_dlt_pipeline_state": "pipeline_name",
    "_dlt_loads": "status",
}


@pytest.mark.parametrize("table", list(_DLT_TABLE_KEYS))
def test_a_kill_while_dlt_writes_its_own_tables_leaves_no_half_file(
    floe_project: FloeProject, monkeypatch: pytest.MonkeyPatch, table: str
) -> None:
    floe_project.sqlite_events(ROWS, incremental=True)
    write_text = LocalFileSystem.write_text

    def killed_halfway(self: LocalFileSystem, path: str, value: str, **kwargs: Any) -> Any:
        # the document tells the table, wherever the file goes before it takes its place
        with contextlib.suppress(ValueError):
            if _DLT_TABLE_KEYS[table] in json.loads(value):
                write_text(self, path, value[: len(value) // 2], **kwargs)
                raise _Killed
        return write_text(self, path, value, **kwargs)

    monkeypatch.setattr(LocalFileSystem, "write_text", killed_halfway)
    with pytest.raises(_Killed):
        floe_project.run()
    monkeypatch.setattr(LocalFileSystem, "write_text", write_text)

    run = floe_project.run()

    assert run.rows_loaded in (0, ROWS)  # 0: the killed run had committed the table
    assert sorted(floe_project.read("bronze.events")["id"].to_pylist()) == list(range(ROWS))
    assert floe_project.run().rows_loaded == 0  # and the pipeline goes on
