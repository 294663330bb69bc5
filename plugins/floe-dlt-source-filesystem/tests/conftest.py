"""Files to load: written to a project folder or to a bucket of an S3 server on loopback (moto)."""

from __future__ import annotations

import csv
import io
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from floe_testing.fixtures.ingestion import FloeProject


def encode(name: str, rows: list[dict[str, Any]]) -> bytes:
    """``rows`` in the format named by ``name``'s extension."""
    if name.endswith(".csv"):
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return text.getvalue().encode("utf-8")
    if name.endswith(".jsonl"):
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()
    if name.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), buffer)
        return buffer.getvalue()
    raise ValueError(f"no encoder for {name}")


class Files:
    """Writes test files somewhere a ``filesystem`` source can read them."""

    def __init__(
        self, url: str, put: Callable[[str, bytes], None], root: Path | None = None
    ) -> None:
        self.url = url
        self.root = root
        self._put = put

    def write(self, name: str, rows: list[dict[str, Any]]) -> None:
        self._put(name, encode(name, rows))

    def write_bytes(self, name: str, data: bytes) -> None:
        self._put(name, data)

    def set_age(self, name: str, seconds: float) -> None:
        """Give a local file a modification time ``seconds`` in the past."""
        assert self.root is not None, "only local files have a settable modification time"
        stamp = time.time() - seconds
        os.utime(self.root / name, (stamp, stamp))


@pytest.fixture
def local_files(floe_project: FloeProject) -> Files:
    """A ``data`` folder next to floe.yaml, named by its relative path."""
    root = floe_project.root / "data"
    root.mkdir()

    def put(name: str, data: bytes) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return Files("data", put, root)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 API (moto) on 127.0.0.1, on a free port, for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass(frozen=True)
class S3Server:
    """Where the S3 server listens and the keys it is given."""

    endpoint: str
    key: str = "floe-test-key"
    secret: str = "floe-test-secret-value"
    region: str = "us-east-1"

    def source_fields(self) -> str:
        """The source's own S3 settings, as ``key: value`` pairs for a YAML flow mapping."""
        return (
            f"aws_access_key_id: {self.key}, aws_secret_access_key: {self.secret}, "
            f"endpoint_url: '{self.endpoint}', region_name: {self.region}"
        )


@pytest.fixture
def s3(s3_endpoint: str) -> S3Server:
    return S3Server(s3_endpoint)


@pytest.fixture
def s3_client(s3: S3Server) -> Any:
    import boto3  # type: ignore[import-untyped]

    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        aws_access_key_id=s3.key,
        aws_secret_access_key=s3.secret,
        region_name=s3.region,
    )


@pytest.fixture
def s3_files(s3_client: Any) -> Files:
    """A fresh bucket; files go under the ``landing/`` prefix."""
    bucket = f"floe-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=bucket)

    def put(name: str, data: bytes) -> None:
        s3_client.put_object(Bucket=bucket, Key=f"landing/{name}", Body=data)

    return Files(f"s3://{bucket}/landing", put)
