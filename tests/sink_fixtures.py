"""Fixtures of the sinks' tests (``pytest_plugins = ["tests.sink_fixtures"]``): moto's S3 server,
started once for the session when a test first needs it, and a fresh bucket per test.

PYTEST_DONT_REWRITE: test modules import the helpers before pytest loads this as a plugin.
"""

import gzip
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from devservices.moto import CREDENTIALS, MotoServer


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    server.start()
    yield server
    server.stop()


@dataclass
class Lake:
    bucket: str
    client: object  # boto3's S3 client
    env: dict[str, str]  # settings of a sink process writing to this bucket

    def keys(self, prefix: str = "") -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", ()))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


@pytest.fixture
def s3_lake(moto_server, settings, monkeypatch) -> Lake:
    """A new bucket on moto; the sinks' storage of this process (and ``env``) point at it."""
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    client = boto3.client(
        "s3",
        endpoint_url=moto_server.url,
        region_name=CREDENTIALS["AWS_S3_REGION_NAME"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "sinks": {
            "BACKEND": "events.sinks.storage.S3SinkStorage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": moto_server.url,
                "region_name": CREDENTIALS["AWS_S3_REGION_NAME"],
            },
        },
    }
    settings.SINK_BUCKET = bucket
    env = {
        **os.environ,
        **CREDENTIALS,
        "SINK_BUCKET": bucket,
        "AWS_S3_ENDPOINT_URL": moto_server.url,
    }
    return Lake(bucket, client, env)


@pytest.fixture
def sink_settings(settings, tmp_path):
    """A fresh consumer group, files in a local folder, and quick rotation by age only."""
    suffix = uuid.uuid4().hex[:12]
    settings.SINK_CONSUMER_GROUP_PREFIX = f"test-sink-{suffix}"
    settings.SINK_ROTATE_SECONDS = 1.0
    settings.SINK_ROTATE_RECORDS = 10**9
    settings.SINK_ROTATE_BYTES = 10**12
    settings.SINK_BATCH_SECONDS = 0.2
    settings.SINK_CONTRACT_REFRESH_SECONDS = 0.5
    settings.SINK_ROOT = tmp_path / "lake"
    settings.STORAGES = {
        **settings.STORAGES,
        "sinks": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "lake")},
        },
    }
    return settings


def run_until(loop, done, timeout: float = 120.0, every: float = 0.5) -> None:
    """Run a sink's loop in this process until ``done()`` (checked every ``every`` seconds)."""
    deadline = time.monotonic() + timeout
    checked = [0.0]

    def stop() -> bool:
        assert time.monotonic() < deadline, "the sink did not get there in time"
        if time.monotonic() - checked[0] < every:
            return False
        checked[0] = time.monotonic()
        return done()

    loop.run(should_stop=stop)


def read_lines(root: Path, pattern: str = "**/*.jsonl.gz") -> list[dict]:
    return [
        json.loads(line)
        for path in sorted(root.glob(pattern))
        if ".tmp" not in path.parts
        for line in gzip.decompress(path.read_bytes()).splitlines()
    ]
