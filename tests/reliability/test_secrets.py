"""Canary secrets in every secret field never show up in output, logs, spans or written files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from floe_testing.fixtures.databases import Database, SourceDb
from floe_testing.fixtures.seaweedfs import SeaweedFS
from floe_testing.rest_server import ItemsServer, rest_source

DB_PASSWORD = "canary-db-pw-71c3"  # PostgreSQL here trusts loopback: any password is accepted
API_TOKEN = "canary-api-token-9d2e"


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def _s3_objects(weed: SeaweedFS, prefix: str) -> bytes:
    import boto3  # type: ignore[import-untyped]

    s3 = boto3.client(
        "s3",
        endpoint_url=weed.s3_endpoint,
        aws_access_key_id=weed.access_key,
        aws_secret_access_key=weed.secret_key,
        region_name="us-east-1",
    )
    listed = s3.list_objects_v2(Bucket=weed.bucket, Prefix=prefix).get("Contents", [])
    assert listed, "no state files were written"
    return b"".join(s3.get_object(Bucket=weed.bucket, Key=o["Key"])["Body"].read() for o in listed)


def test_canaries_stay_secret(tmp_path: Path, postgres_db: Database, seaweedfs: SeaweedFS) -> None:
    with ItemsServer(50, token=API_TOKEN) as api:
        _canaries_stay_secret(tmp_path, postgres_db, seaweedfs, api)


def _canaries_stay_secret(
    tmp_path: Path, postgres_db: Database, seaweedfs: SeaweedFS, api: ItemsServer
) -> None:
    db = SourceDb(postgres_db)
    db.execute(f"CREATE TABLE {db.table} (id INTEGER PRIMARY KEY, v TEXT)")
    db.execute(f"INSERT INTO {db.table} VALUES (1, 'a'), (2, 'b')")
    db.dispose()
    url = postgres_db.url.replace("postgres@", f"postgres:{DB_PASSWORD}@")
    prefix = f"floe-state/{db.table}"
    (tmp_path / "floe.yaml").write_text(
        f"""
catalog:
  type: rest
  uri: {seaweedfs.catalog_uri}
  warehouse: {seaweedfs.warehouse}
  credential: "{seaweedfs.access_key}:${{S3_SECRET}}"
storage:
  s3: {{endpoint: "{seaweedfs.s3_endpoint}", access_key_id: {seaweedfs.access_key},
        secret_access_key: "${{S3_SECRET}}", region: us-east-1, path_style: true}}
  state_url: s3://{seaweedfs.bucket}/{prefix}
ingestion:
  sources:
    - name: pg
      type: sql_database
      config: {{credentials: "${{DB_URL}}", tables: [{db.table}]}}
      destination: {{namespace: {db.table}}}
    - {json.dumps(rest_source(api.url, namespace=db.table, token_env="API_TOKEN"))}
""",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "S3_SECRET": seaweedfs.secret_key,
        "DB_URL": url,
        "API_TOKEN": API_TOKEN,
        "OTEL_TRACES_EXPORTER": "console",  # spans are printed to stderr, which is checked
    }
    canaries = [DB_PASSWORD, seaweedfs.secret_key, API_TOKEN]

    def floe(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "floe_cli", "--log-level", "debug", "--log-format", "json",
             *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    run = floe("ingest", "run", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    loaded = {r["source"]: r["rows_loaded"] for r in json.loads(run.stdout)["sources"]}
    assert loaded == {"pg": 2, "api": 50}
    assert '"name": "floe.ingestion.run"' in run.stderr
    compiled = floe("compile")
    assert compiled.returncode == 0
    check = floe("ingest", "check")

    # A failing run: the database refuses, the error names the source without the password.
    env["DB_URL"] = url.replace(":5432/", ":1/")
    failed = floe("ingest", "run", "--json")
    assert failed.returncode == 1
    assert next(r for r in json.loads(failed.stdout)["sources"] if r["source"] == "pg")["error"]

    outputs = [run, compiled, check, failed]
    for canary in canaries:
        for result in outputs:
            assert canary not in result.stdout
            assert canary not in result.stderr
        assert canary.encode() not in _all_bytes(tmp_path / ".floe")
        assert canary.encode() not in _s3_objects(seaweedfs, prefix)


@pytest.fixture(autouse=True)
def _no_debug_leak_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNTIME__LOG_LEVEL", raising=False)
