"""Writing the sinks' objects through django-storages, each appearing whole or not at all.

- S3 (``S3SinkStorage``, any S3-compatible endpoint): one PUT, or a multipart upload for large
  files (boto3's transfer manager, above 8 MiB by default); an object becomes visible only when
  its upload completes, and a name written again is replaced whole.
- The local filesystem (Django's ``FileSystemStorage``): the bytes go to a hidden temporary file
  under ``<root>/.tmp/`` and are renamed into place (``os.replace`` is atomic), so a reader never
  sees a partial file; a crash leaves at most a hidden temporary file, removed at the next start.
"""

import os
import tempfile
import time
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from storages.backends.s3 import S3Storage

CONTENT_TYPES = {
    ".gz": "application/gzip",
    ".avro": "application/avro",
    ".parquet": "application/vnd.apache.parquet",
}
TEMPORARY = ".tmp"


class S3SinkStorage(S3Storage):
    """S3Storage that labels the files by type without a Content-Encoding: a ``.jsonl.gz`` file
    is a gzip file, not JSON that HTTP clients should unpack on the fly."""

    def get_object_parameters(self, name: str) -> dict:
        params = super().get_object_parameters(name)
        params.setdefault(
            "ContentType", CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")
        )
        return params


def sink_storage() -> Storage:
    storage = storages["sinks"]
    if isinstance(storage, S3Storage) and not storage.file_overwrite:
        raise ImproperlyConfigured(
            "The sinks replace an object when they write its name again: "
            "AWS_S3_FILE_OVERWRITE must stay true."
        )
    return storage


def put(storage: Storage, name: str, data: bytes) -> None:
    """Write ``data`` under ``name``, replacing what is there, atomically."""
    if isinstance(storage, FileSystemStorage):
        _replace(Path(storage.location), name, data)
    else:
        storage.save(name, ContentFile(data))


def _replace(root: Path, name: str, data: bytes) -> None:
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary_dir = root / TEMPORARY
    temporary_dir.mkdir(exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=temporary_dir, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def remove_leftovers(storage: Storage, older_than: float = 3600.0) -> int:
    """Delete temporary files a killed sink left on the local filesystem; return how many."""
    if not isinstance(storage, FileSystemStorage):
        return 0
    removed = 0
    limit = time.time() - older_than
    for leftover in (Path(storage.location) / TEMPORARY).glob(".*.part"):
        if leftover.stat().st_mtime < limit:
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed
