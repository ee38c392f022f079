"""A partition's progress as its committed offset and commit metadata say it.

The committed offset alone cannot describe a sink's progress: files of several time buckets are
open at once and close at different moments (rotation by size, age, memory, the open-file
bound), so when one closes, records after the oldest still-open file's first record may already
be in storage. The commit metadata (a short JSON string, Kafka's ``offset.metadata.max.bytes``,
4 KiB by default, bounds it) says what lies beyond the offset:

- ``done``: bucket id -> offset; the bucket's records below it are in storage already, and a
  replay from the committed offset skips them;
- ``pending``: bucket id -> (first, last); a file of that bucket with exactly its records in
  [first, last] is being written under the name its first offset gives. Declared (committed)
  before the upload starts, so whoever resumes the partition writes the same file again, under
  the same name, with the same records; and skips that bucket's records before ``first``.

Offsets are stored relative to the committed offset, to keep the metadata short.
"""

from dataclasses import dataclass, field

import msgspec

VERSION = 1


class _Stored(msgspec.Struct, omit_defaults=True):
    v: int = VERSION
    d: dict[str, int] = {}
    p: dict[str, tuple[int, int]] = {}


class MetadataError(ValueError):
    """Commit metadata this sink did not write (or a newer version of it)."""


@dataclass
class Progress:
    offset: int  # the committed offset; -1 when nothing was committed yet
    done: dict[str, int] = field(default_factory=dict)
    pending: dict[str, tuple[int, int]] = field(default_factory=dict)

    def encode(self) -> str:
        if not self.done and not self.pending:
            return ""
        base = self.offset
        stored = _Stored(
            d={bucket: hw - base for bucket, hw in self.done.items()},
            p={
                bucket: (first - base, last - base)
                for bucket, (first, last) in self.pending.items()
            },
        )
        return msgspec.json.encode(stored).decode()

    @classmethod
    def decode(cls, offset: int, metadata: str | None) -> "Progress":
        if offset < 0 or not metadata:
            return cls(offset)
        try:
            stored = msgspec.json.decode(metadata, type=_Stored)
        except msgspec.DecodeError as exc:
            raise MetadataError(
                f"commit metadata {metadata[:80]!r} is not a sink's: {exc}"
            ) from exc
        if stored.v != VERSION:
            raise MetadataError(f"commit metadata version {stored.v} is not {VERSION}")
        return cls(
            offset,
            {bucket: offset + hw for bucket, hw in stored.d.items()},
            {bucket: (offset + first, offset + last) for bucket, (first, last) in stored.p.items()},
        )

    def declaring(self, files: dict[str, tuple[int, int]]) -> "Progress":
        """This progress with ``files`` declared pending (their bucket's done entry replaced)."""
        done = {bucket: hw for bucket, hw in self.done.items() if bucket not in files}
        return Progress(self.offset, done, {**self.pending, **files})

    def written(self, files: dict[str, tuple[int, int]], offset: int) -> "Progress":
        """The progress once ``files`` are in storage and ``offset`` is committed: entries that
        the new offset makes useless are dropped."""
        done = {**self.done, **{bucket: last + 1 for bucket, (_, last) in files.items()}}
        pending = {b: span for b, span in self.pending.items() if b not in files}
        return Progress(
            offset,
            {bucket: hw for bucket, hw in done.items() if hw > offset},
            {bucket: span for bucket, span in pending.items() if span[1] >= offset},
        )
