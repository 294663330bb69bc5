"""Incremental loads by file modification time: new files load, files already loaded do not."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from floe_testing.fixtures.ingestion import FloeProject

if TYPE_CHECKING:
    from conftest import Files


def _source(project: FloeProject, write_mode: str, extra: str = "") -> None:
    key = ", primary_key: id" if write_mode == "merge" else ""
    project.write(
        f"""
        ingestion:
          sources:
            - name: files
              type: filesystem
              config: {{bucket_url: data, file_glob: "day_*.csv"{extra}}}
              destination: {{namespace: bronze, write_mode: {write_mode}{key}}}
        """
    )


def _ids(project: FloeProject) -> list[int]:
    return sorted(project.read("bronze.day")["id"].to_pylist())


def _day(files: Files, day: int, ids: range, age: float) -> None:
    name = f"day_{day}.csv"
    files.write(name, [{"id": i, "day": day} for i in ids])
    files.set_age(name, age)


def test_append_loads_only_new_files(floe_project: FloeProject, local_files: Files) -> None:
    _day(local_files, 1, range(1, 6), age=300)
    _day(local_files, 2, range(6, 9), age=200)
    _source(floe_project, "append")

    assert floe_project.run().rows_loaded == 8
    assert floe_project.run().rows_loaded == 0

    _day(local_files, 3, range(9, 11), age=100)
    assert floe_project.run().rows_loaded == 2
    assert _ids(floe_project) == list(range(1, 11))


def test_cursor_survives_the_loss_of_local_pipeline_state(
    floe_project: FloeProject, local_files: Files
) -> None:
    _day(local_files, 1, range(1, 4), age=300)
    _source(floe_project, "append")
    floe_project.run()
    shutil.rmtree(floe_project.root / ".floe" / "pipelines")
    _day(local_files, 2, range(4, 6), age=100)

    assert floe_project.run().rows_loaded == 2
    assert _ids(floe_project) == list(range(1, 6))


def test_append_without_incremental_reloads_every_file(
    floe_project: FloeProject, local_files: Files
) -> None:
    _day(local_files, 1, range(1, 4), age=300)
    _source(floe_project, "append", ", incremental: false")
    floe_project.run()
    assert floe_project.run().rows_loaded == 3
    assert _ids(floe_project) == [1, 1, 2, 2, 3, 3]


def test_replace_reads_all_files_every_run(floe_project: FloeProject, local_files: Files) -> None:
    _day(local_files, 1, range(1, 4), age=300)
    _source(floe_project, "replace")
    floe_project.run()
    _day(local_files, 2, range(4, 6), age=100)

    assert floe_project.run().rows_loaded == 5
    assert _ids(floe_project) == list(range(1, 6))


def test_incremental_merge_upserts_rows_of_new_files(
    floe_project: FloeProject, local_files: Files
) -> None:
    _day(local_files, 1, range(1, 5), age=300)
    _source(floe_project, "merge", ", incremental: true")
    floe_project.run()
    _day(local_files, 2, range(3, 7), age=100)

    assert floe_project.run().rows_loaded == 4
    table = floe_project.read("bronze.day").sort_by("id").to_pylist()
    assert [(r["id"], r["day"]) for r in table] == [(1, 1), (2, 1), (3, 2), (4, 2), (5, 2), (6, 2)]


def test_plan_counts_the_files_newer_than_the_stored_cursor(
    floe_project: FloeProject, local_files: Files
) -> None:
    _day(local_files, 1, range(1, 6), age=300)
    _source(floe_project, "append")
    [first] = floe_project.plugin().engine.plan("files").tables
    assert (first.preview.files, first.reads_after) == (1, None)

    floe_project.run()
    _day(local_files, 2, range(6, 9), age=100)
    [table] = floe_project.plugin().engine.plan("files").tables

    new_file = floe_project.root / "data" / "day_2.csv"
    assert table.cursor_field == "modification_date"
    assert table.reads_after is not None
    assert (table.preview.files, table.preview.bytes) == (1, new_file.stat().st_size)
    assert table.preview.rows is None  # known only by reading the files
    assert floe_project.run().rows_loaded == 3


def test_plan_of_a_glob_matching_nothing_says_the_run_would_fail(
    floe_project: FloeProject, local_files: Files
) -> None:
    _day(local_files, 1, range(1, 3), age=300)
    _source(floe_project, "append")
    floe_project.file.write_text(floe_project.file.read_text().replace("day_*", "week_*"))

    plan = floe_project.plugin().engine.plan("files")

    assert plan.refusals == (
        "source files: cannot be asked: IngestionError: source 'files': config.file_glob: "
        f"'week_*.csv' matches no file under {floe_project.root / 'data'}; set allow_empty: "
        "true if the folder may be empty",
    )
