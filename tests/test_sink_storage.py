"""The sinks' object writes: whole objects replaced on S3 (moto's real HTTP endpoint, multipart
for large files) and atomic renames on the local filesystem."""

import os
import time

from django.core.files.storage import FileSystemStorage

from events.sinks.storage import TEMPORARY, put, remove_leftovers, sink_storage

pytest_plugins = ["tests.sink_fixtures"]


def test_s3_objects_are_replaced_whole_and_typed_without_an_encoding(s3_lake):
    storage = sink_storage()
    name = "raw/dt=2026-11-25/hour=10/events.raw+0+00000000000000000007.jsonl.gz"
    put(storage, name, b"first")
    put(storage, name, b"second, longer")
    assert s3_lake.keys() == [name]
    assert s3_lake.read(name) == b"second, longer"
    head = s3_lake.client.head_object(Bucket=s3_lake.bucket, Key=name)
    assert head["ContentType"] == "application/gzip"
    assert "ContentEncoding" not in head


def test_large_s3_objects_go_up_in_parts(s3_lake):
    data = os.urandom(20 * 1024 * 1024)
    put(sink_storage(), "avro/big.avro", data)
    head = s3_lake.client.head_object(Bucket=s3_lake.bucket, Key="avro/big.avro")
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three 8 MiB parts
    assert s3_lake.read("avro/big.avro") == data


def test_local_files_are_renamed_into_place(tmp_path):
    storage = FileSystemStorage(location=tmp_path)
    put(storage, "raw/a/x.jsonl.gz", b"one")
    put(storage, "raw/a/x.jsonl.gz", b"two")
    assert (tmp_path / "raw/a/x.jsonl.gz").read_bytes() == b"two"
    assert list((tmp_path / TEMPORARY).iterdir()) == []
    leftover = tmp_path / TEMPORARY / ".abc.part"  # what a killed sink leaves
    leftover.write_bytes(b"partial")
    fresh = tmp_path / TEMPORARY / ".def.part"  # another sink writing right now
    fresh.write_bytes(b"partial")
    os.utime(leftover, (time.time() - 7200, time.time() - 7200))
    assert remove_leftovers(storage) == 1
    assert not leftover.exists() and fresh.exists()
