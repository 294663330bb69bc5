"""Time windows of a filesystem source: a window reads the files modified in it, or with
``path_template`` the files of its dates; its run replaces the rows whose partition column is in
it, and a file whose rows are not in the window is refused (exit 2, one line)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from floe_core.windows import Every, window_at
from floe_ingestion_dlt import ErrorCategory, IngestionError, PipelineConfigurationError
from floe_testing.fixtures.ingestion import FloeProject

if TYPE_CHECKING:
    from conftest import Files, S3Server

MARCH = datetime(2024, 3, 1, tzinfo=UTC)


def _rows(day: int, count: int, name: str = "e") -> list[dict[str, Any]]:
    """``count`` events spread over 2024-03-``day`` (UTC), ids ``day * 1000 + i``."""
    start = MARCH + timedelta(days=day - 1)
    return [
        {"id": day * 1000 + i, "at": start + timedelta(minutes=10 * i), "name": f"{name}{i}"}
        for i in range(count)
    ]


def _source(
    project: FloeProject, config: str, every: str = "day", bucket_url: str = "data"
) -> None:
    project.write(
        f"""
        ingestion:
          sources:
            - name: files
              type: filesystem
              config: {{bucket_url: '{bucket_url}', {config}}}
              destination: {{namespace: bronze}}
              partitions: {{column: at, start: 2024-03-01, every: {every}}}
        """
    )


def _modified(files: Files, name: str, moment: datetime) -> None:
    assert files.root is not None
    os.utime(files.root / name, (moment.timestamp(), moment.timestamp()))


def _table(project: FloeProject) -> list[tuple[int, str]]:
    data = project.read("bronze.events")
    return sorted(zip(data["id"].to_pylist(), data["name"].to_pylist(), strict=True))


def _expected(*batches: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return sorted((row["id"], row["name"]) for batch in batches for row in batch)


def test_a_window_reads_the_files_modified_in_it_and_a_rerun_replaces_them(
    floe_project: FloeProject, local_files: Files
) -> None:
    first, second = _rows(1, 50), _rows(2, 40)
    local_files.write("events_1.parquet", first)
    local_files.write("events_2.parquet", second)
    _modified(local_files, "events_1.parquet", MARCH + timedelta(hours=23))
    _modified(local_files, "events_2.parquet", MARCH + timedelta(days=1, hours=23))
    _source(floe_project, 'file_glob: "events_*.parquet"')

    one = floe_project.run(window=window_at("2024-03-01", "day"))
    two = floe_project.run(window=window_at("2024-03-02", "day"))
    assert (one.rows_loaded, two.rows_loaded) == (50, 40)

    changed = _rows(1, 30, name="v2")  # day 1's file is rewritten, still on day 1
    local_files.write("events_1.parquet", changed)
    _modified(local_files, "events_1.parquet", MARCH + timedelta(hours=23, minutes=30))
    again = floe_project.run(window=window_at("2024-03-01", "day"))

    assert again.rows_loaded == 30
    assert _table(floe_project) == _expected(changed, second)
    assert local_files.root is not None  # day 2's file goes away: its window is emptied
    (local_files.root / "events_2.parquet").unlink()
    emptied = floe_project.run(window=window_at("2024-03-02", "day"))
    assert emptied.rows_loaded == 0
    assert _table(floe_project) == _expected(changed)


def test_a_path_template_reads_the_files_of_the_windows_dates(
    floe_project: FloeProject, local_files: Files
) -> None:
    days = {day: _rows(day, 20 + day) for day in (1, 2, 3)}
    for rows in days.values():  # JSON text: the timestamps as ISO 8601
        for row in rows:
            row["at"] = row["at"].isoformat()
    for day, rows in days.items():
        local_files.write(f"events/2024-03-0{day}/part-0.jsonl", rows[:10])
        local_files.write(f"events/2024-03-0{day}/part-1.jsonl", rows[10:])
    april = [{**row, "at": row["at"].isoformat()} for row in _rows(32, 5)]
    local_files.write("events/2024-04-01/part-0.jsonl", april)  # another window
    _source(floe_project, 'path_template: "events/{date:%Y-%m-%d}/*.jsonl"', every="month")

    march = floe_project.run(window=window_at("2024-03-01", "month"))

    assert march.rows_loaded == sum(len(rows) for rows in days.values())
    assert _table(floe_project) == _expected(*days.values())
    # a day's folder goes away upstream: the rerun leaves its rows out
    assert local_files.root is not None
    for part in (local_files.root / "events" / "2024-03-02").iterdir():
        part.unlink()
    floe_project.run(window=window_at("2024-03-01", "month"))
    assert _table(floe_project) == _expected(days[1], days[3])


def test_a_path_template_reads_a_windows_files_from_s3(
    floe_project: FloeProject, s3_files: Files, s3: S3Server
) -> None:
    for day in (1, 2):
        for hour in (0, 23):
            rows = [{**row, "at": row["at"] + timedelta(hours=hour)} for row in _rows(day, 3)]
            for row in rows:
                row["id"] += hour * 10
            s3_files.write(f"events/2024/03/0{day}/{hour:02d}.parquet", rows)
    _source(
        floe_project,
        f'path_template: "events/{{date:%Y/%m/%d}}/{{date:%H}}.parquet", {s3.source_fields()}',
        bucket_url=s3_files.url,
    )

    day_two = floe_project.run(window=window_at("2024-03-02", "day"))

    assert day_two.rows_loaded == 6
    assert {i // 1000 for i, _ in _table(floe_project)} == {2}


def test_a_template_names_the_files_of_each_of_its_periods_in_the_window() -> None:
    from floe_dlt_source_filesystem.windows import window_globs
    from floe_ingestion_dlt.types import ColumnWindow

    def globs(template: str, key: str, every: Every) -> list[str] | None:
        window = window_at(key, every)
        return window_globs(template, ColumnWindow("at", window.start, window.end))

    assert globs("d={date:%Y-%m-%d}/*", "2024-03-03", "week") == [
        f"d=2024-03-{day:02d}/*" for day in range(3, 10)
    ]
    hourly = globs("{date:%Y%m%d}/{date:%H}/*.csv", "2024-03-01", "day")
    assert hourly is not None
    assert (len(hourly), hourly[0], hourly[-1]) == (24, "20240301/00/*.csv", "20240301/23/*.csv")
    assert globs("{date:%Y-%m}/*.csv", "2024-02-01", "month") == ["2024-02/*.csv"]
    assert globs("{date:%Y-%m}/*.csv", "2024-02-01", "week") is None  # a week is not a month
    assert globs("{date:%Y-%m}/*.csv", "2024-02-04", "day") is None


def test_a_path_template_table_and_format_come_from_its_glob(floe_project: FloeProject) -> None:
    from floe_dlt_source_filesystem.config import FilesystemConfig
    from floe_dlt_source_filesystem.source import table_name
    from floe_ingestion_dlt.types import SourceContext

    config = FilesystemConfig(bucket_url="data", path_template="events/{date:%Y/%m/%d}/*.csv")
    assert (config.file_glob, config.file_format) == ("events/*/*/*/*.csv", "csv")
    assert table_name(config, SourceContext("files", ".")) == "events"


def _cli(project: FloeProject, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floe_cli", "ingest", "run", *args],
        cwd=project.root,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_file_with_rows_outside_its_window_is_refused_with_exit_2(
    floe_project: FloeProject, local_files: Files
) -> None:
    rows = _rows(1, 10) + _rows(2, 1)  # written on day 1, one row of day 2
    local_files.write("events_1.parquet", rows)
    _modified(local_files, "events_1.parquet", MARCH + timedelta(hours=23))
    _source(floe_project, 'file_glob: "events_*.parquet"')

    with pytest.raises(IngestionError) as caught:
        floe_project.run(window=window_at("2024-03-01", "day"))
    assert caught.value.category is ErrorCategory.CONFIGURATION
    assert "events_1.parquet: partitions.column 'at': 2024-03-02 00:00:00" in str(caught.value)
    assert "is outside the window" in str(caught.value)

    run = _cli(floe_project, "--partition", "2024-03-01", "--json")
    assert run.returncode == 2, run.stderr
    [source] = json.loads(run.stdout)["sources"]
    assert "\n" not in source["error"]
    assert "is outside the window" in source["error"]


@pytest.mark.parametrize(
    ("config", "every", "message"),
    [
        (
            'path_template: "events/{date:%Y-%m}/*.csv"',
            "day",
            "source 'files': config.path_template: 'events/{date:%Y-%m}/*.csv' names files of "
            "a longer time than the window [2024-03-01 00:00, 2024-03-02 00:00)",
        ),
        ('file_glob: "*.csv", incremental: true', "day", "config.incremental: a partitioned"),
    ],
)
def test_windows_that_cannot_work_are_refused(
    floe_project: FloeProject, local_files: Files, config: str, every: Every, message: str
) -> None:
    local_files.write("events/2024-03/a.csv", [{"id": 1, "at": "2024-03-01 10:00:00"}])
    local_files.write("a.csv", [{"id": 1, "at": "2024-03-01 10:00:00"}])
    _source(floe_project, config, every)

    with pytest.raises(PipelineConfigurationError, match=re.escape(message)):
        floe_project.run(window=window_at("2024-03-01", every))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('path_template: "events/*.csv"', "needs a {date:FORMAT} field"),
        ('path_template: "events/{day}/*.csv"', "the only field is {date:FORMAT}"),
        ('path_template: "events/{date:%a}/*.csv"', "name no hour, day, month or year"),
        ('path_template: "events/{date:%Y-%m-%d/*.csv"', "not a valid template"),
    ],
)
def test_an_invalid_path_template_is_a_configuration_error(
    floe_project: FloeProject, config: str, message: str
) -> None:
    _source(floe_project, config)
    with pytest.raises(PipelineConfigurationError) as caught:
        floe_project.run(window=window_at("2024-03-01", "day"))
    assert "source 'files' (filesystem): config.path_template: " in str(caught.value)
    assert message in str(caught.value)


def test_a_path_template_with_a_file_glob_is_refused_with_exit_2(
    floe_project: FloeProject,
) -> None:
    _source(floe_project, 'path_template: "events/{date:%Y-%m-%d}/*.csv", file_glob: "*.csv"')
    run = _cli(floe_project, "--partition", "2024-03-01")
    assert run.returncode == 2
    [line] = run.stderr.strip().splitlines()
    assert line.endswith(
        "source 'files' (filesystem): config.path_template: give file_glob or path_template, "
        "not both"
    )
