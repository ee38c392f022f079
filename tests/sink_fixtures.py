"""Fixtures of the sinks' tests (``pytest_plugins = ["tests.sink_fixtures"]``): moto's S3 server,
started once for the session when a test first needs it, and a fresh bucket per test."""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

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
