"""Each source package installs alone: wheels into a fresh venv with one source, nothing else.

Checks, for every source: ``floe plugins list`` shows only that source type; a floe.yaml asking
for another source type exits 2 naming the distribution to install; a real load works.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
BASE = ["floe-core", "floe-cli", "floe-ingestion-dlt", "floe-dlt-destination-iceberg"]
SOURCES = {
    "sql_database": "floe-dlt-source-sql-database",
    "rest_api": "floe-dlt-source-rest-api",
    "filesystem": "floe-dlt-source-filesystem",
}

pytestmark = pytest.mark.slow


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    return uv


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    for package in [*BASE, *SOURCES.values()]:
        subprocess.run(
            [_uv(), "build", "--package", package, "--wheel", "--out-dir", str(out), "-q"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return out


def _venv(wheels: Path, root: Path, source: str) -> Path:
    venv = root / "venv"
    subprocess.run([_uv(), "venv", "-q", "-p", sys.executable, str(venv)], check=True)
    subprocess.run(
        [
            _uv(), "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
            "--find-links", str(wheels), *BASE, SOURCES[source],
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return venv


def _floe(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    return subprocess.run(
        [str(venv / "bin" / "floe"), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("http")
    (folder / "items.json").write_text(json.dumps([{"id": i, "v": f"v{i}"} for i in range(7)]))
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _config(source: str, project: Path, http_root: str) -> tuple[str, int]:
    if source == "sql_database":
        import sqlite3

        with sqlite3.connect(project / "src.db") as db:
            db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)")
            db.executemany("INSERT INTO items VALUES (?, ?)", [(i, f"v{i}") for i in range(5)])
        return "{credentials: 'sqlite:///src.db', tables: [items]}", 5
    if source == "filesystem":
        (project / "files").mkdir()
        (project / "files" / "items.csv").write_text("id,v\n1,a\n2,b\n3,c\n")
        return "{bucket_url: files, file_glob: '*.csv'}", 3
    return (
        f"{{client: {{base_url: '{http_root}', paginator: single_page}}, "
        "resources: [{name: items, endpoint: {path: items.json}}]}",
        7,
    )


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_one_source_installed_alone(
    wheels: Path, tmp_path: Path, http_root: str, source: str
) -> None:
    venv = _venv(wheels, tmp_path, source)
    project = tmp_path / "project"
    project.mkdir()

    listed = _floe(venv, "plugins", "list", "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    sources = [row["name"] for row in json.loads(listed.stdout) if row["type"] == "dlt_sources"]
    assert sources == [source]

    other = next(s for s in sorted(SOURCES) if s != source)
    (project / "floe.yaml").write_text(
        f"ingestion:\n  sources:\n    - name: other\n      type: {other}\n      config: {{}}\n"
        "      destination: {namespace: raw}\n"
    )
    refused = _floe(venv, "ingest", "run", cwd=project)
    assert refused.returncode == 2
    assert f"pip install {SOURCES[other]}" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    config, rows = _config(source, project, http_root)
    (project / "floe.yaml").write_text(
        f"ingestion:\n  sources:\n    - name: alone\n      type: {source}\n"
        f"      config: {config}\n      destination: {{namespace: raw}}\n"
    )
    loaded = _floe(venv, "ingest", "run", "--json", cwd=project)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert json.loads(loaded.stdout)["sources"][0]["rows_loaded"] == rows
