"""The open files of one Kafka partition: which file each record goes to, and when files close.

Every record goes to the open file of its bucket (opened at its first record, which names it).
A file closes when it reaches ``SINK_ROTATE_RECORDS`` records or ``SINK_ROTATE_BYTES`` bytes,
when it is ``SINK_ROTATE_SECONDS`` old (checked on every tick, so idle partitions flush on
time), when a new bucket needs room (at most ``SINK_MAX_OPEN_FILES`` per partition: the least
recently written one closes), and when the process's files exceed the memory budget (the
largest close first). Closed files are written by the policy at once.

After a partition is (re)assigned, ``Progress`` tells which records are in storage already
(skipped) and which declared files must be written again exactly (rebuilt, closing at their
declared last offset whatever the rotation settings say).
"""

import time
from dataclasses import dataclass, field

from . import layout
from .formats import FileWriter
from .progress import Progress
from .routes import Bucket, Routed, bucket_id


class OutOfOrder(Exception):
    """A partition's records came back in an order Kafka never gives: a bug, not input."""


@dataclass(frozen=True)
class Rotation:
    seconds: float
    records: int
    bytes: int
    max_open: int

    def reached(self, writer: FileWriter) -> bool:
        return writer.records >= self.records or writer.size >= self.bytes


@dataclass(eq=False)
class OpenFile:
    bucket: Bucket
    bucket_id: str
    first: int
    writer: FileWriter
    opened_at: float = field(default_factory=time.monotonic)
    last: int = -1
    rebuild_last: int | None = None  # a declared file being written again closes there

    def name(self, topic: str, partition: int) -> str:
        return layout.object_name(
            self.bucket.folder, topic, partition, self.first, self.writer.extension
        )


class PartitionFiles:
    def __init__(self, topic: str, partition: int, progress: Progress) -> None:
        self.topic = topic
        self.partition = partition
        self.progress = progress
        self.position: int | None = None  # the offset after the last record seen
        self.files: dict[str, OpenFile] = {}  # by bucket id, least recently written first
        # The most recently written file (last in ``files``): most records go to the same file
        # as the record before them, and skip the lookups.
        self._latest: OpenFile | None = None
        self._done_for: Progress | None = None
        self._done_below = -1  # no record at or above it is in storage already

    @property
    def memory(self) -> int:
        return sum(f.writer.memory for f in self.files.values())

    def add(self, offset: int, routed: Routed, open_writer, rotation: Rotation) -> list[OpenFile]:
        """Put one record in its file; return the files that closed because of it."""
        if self.position is not None and offset < self.position:
            raise OutOfOrder(f"{self.topic}[{self.partition}]: {offset} after {self.position - 1}")
        progress = self.progress
        if progress.offset < 0:  # nothing committed yet: the log starts here
            progress.offset = offset
        self.position = offset + 1
        current = self._latest
        if (
            current is None
            or current.bucket is not routed.bucket
            or current.rebuild_last is not None
            or progress.pending
            or offset < self._skip_horizon(progress)
        ):
            return self._add_looked_up(offset, routed, open_writer, rotation)
        writer = current.writer
        writer.add(routed.item, routed.size)
        current.last = offset
        if rotation.reached(writer):
            return [self._close(current)]
        return []

    def _skip_horizon(self, progress: Progress) -> int:
        """The offset from which ``progress`` says nothing is in storage yet."""
        if progress is not self._done_for:
            self._done_for = progress
            self._done_below = max(progress.done.values(), default=-1)
        return self._done_below

    def _add_looked_up(
        self, offset: int, routed: Routed, open_writer, rotation: Rotation
    ) -> list[OpenFile]:
        bucket = bucket_id(routed.bucket)
        closed = self._passed(offset) if self.progress.pending else []
        if offset < self.progress.done.get(bucket, -1):
            return closed  # in storage already
        declared = self.progress.pending.get(bucket)
        if declared is not None:
            if offset < declared[0]:
                return closed  # before a declared file: in storage already
            if offset > declared[1]:
                declared = None  # after it: a new file
        current = self.files.get(bucket)
        if current is None:
            if declared is None and self._normal_count() >= rotation.max_open:
                closed.append(self._close(self._least_recent()))
            current = OpenFile(routed.bucket, bucket, offset, open_writer(routed.bucket))
            if declared is not None:
                current.first, current.rebuild_last = declared
        else:
            del self.files[bucket]  # re-inserted last: the dict stays in recency order
        self.files[bucket] = current
        self._latest = current
        current.writer.add(routed.item, routed.size)
        current.last = offset
        if current.rebuild_last is not None:
            if offset >= current.rebuild_last:
                closed.append(self._close(current))
        elif rotation.reached(current.writer):
            closed.append(self._close(current))
        return closed

    def _passed(self, offset: int) -> list[OpenFile]:
        """Declared files whose last record will never come (deleted by retention): close what
        was found; forget those of which nothing was found."""
        closed = []
        for bucket, (_, last) in list(self.progress.pending.items()):
            if offset > last:
                found = self.files.get(bucket)
                if found is not None and found.rebuild_last is not None:
                    closed.append(self._close(found))
                elif found is None:
                    del self.progress.pending[bucket]
        return closed

    def _normal_count(self) -> int:
        return sum(1 for f in self.files.values() if f.rebuild_last is None)

    def _least_recent(self) -> OpenFile:
        return next(f for f in self.files.values() if f.rebuild_last is None)

    def _close(self, file: OpenFile) -> OpenFile:
        del self.files[file.bucket_id]
        if file is self._latest:
            self._latest = None
        return file

    def close_aged(self, now: float, seconds: float) -> list[OpenFile]:
        return [
            self._close(f)
            for f in list(self.files.values())
            if f.rebuild_last is None and now - f.opened_at >= seconds
        ]

    def close_all(self) -> list[OpenFile]:
        """Every file that may be written now (declared files still missing records stay)."""
        return [self._close(f) for f in list(self.files.values()) if f.rebuild_last is None]

    def close_largest(self) -> OpenFile | None:
        candidates = [f for f in self.files.values() if f.rebuild_last is None]
        if not candidates:
            return None
        return self._close(max(candidates, key=lambda f: f.writer.memory))

    def close_oldest(self) -> OpenFile | None:
        candidates = [f for f in self.files.values() if f.rebuild_last is None]
        if not candidates:
            return None
        return self._close(min(candidates, key=lambda f: f.first))

    def declare(self, closing: list[OpenFile]) -> Progress:
        """The progress to commit before writing ``closing``: the files declared pending."""
        return self.progress.declaring({f.bucket_id: (f.first, f.last) for f in closing})

    def written(self, closing: list[OpenFile]) -> Progress:
        """The progress to commit once ``closing`` are in storage: the offset moves up to the
        first record not in storage yet (an open file's, a declared file's, or the next)."""
        written = {f.bucket_id: (f.first, f.last) for f in closing}
        firsts = [f.first for f in self.files.values()]
        firsts += [
            first
            for bucket, (first, _) in self.progress.pending.items()
            if bucket not in self.files and bucket not in written
        ]
        candidates = [*firsts, self.position if self.position is not None else self.progress.offset]
        return self.progress.written(written, min(candidates))

    def metadata_size(self) -> int:
        """How large the metadata would be if every open file were declared at once."""
        return len(self.declare(list(self.files.values())).encode())
