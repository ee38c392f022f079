"""The sinks' commit policy on the shared consumer loop: declare, upload, then commit.

For each partition, closing files is three steps:

1. **declare**: commit the partition's current offset with metadata listing the closing files
   (bucket, first and last offset; ``progress``). The commit carries the consumer group's
   generation, so it fails for a process that lost the partition in a rebalance: such a
   process uploads nothing.
2. **upload** each file under its name (topic, partition, first offset), atomically.
3. **commit** the offset of the first record not in storage yet, with metadata saying which
   later records are (files of other buckets closed earlier).

Whoever resumes the partition (the process restarted after SIGKILL, or another member after a
rebalance) reads the offset and the metadata, skips the records already in storage, and writes
every declared file again with exactly its declared records, under the same name. A process
that lost the partition while uploading can only write a file that was declared, and the new
owner writes that same file with the same records: one object, whichever write lands last.
So every record is in exactly one object, whatever the wall clock did to rotation.
"""

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from django.core.files.storage import Storage

from analytics_site.kafka import retrying
from events.consumer import Reread

from . import metrics
from .files import OpenFile, PartitionFiles, Rotation
from .progress import Progress
from .routes import Route
from .storage import put

logger = logging.getLogger(__name__)

OPERATION_TIMEOUT = 30.0
COMMIT_ATTEMPTS = 5
Key = tuple[str, int]


class CommitFailed(Exception):
    """The group did not take a commit (rebalance, fenced): the partitions must be resumed."""


class SinkPolicy:
    def __init__(
        self,
        name: str,
        route: Route,
        storage: Storage,
        rotation: Rotation,
        memory_bytes: int,
        metadata_max_bytes: int = 4096,
        upload_concurrency: int = 4,
        upload_retry_seconds: float = 60.0,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.route = route
        self.storage = storage
        self.rotation = rotation
        self.memory_bytes = memory_bytes
        # Room kept for the JSON framing and for one more declared file.
        self.metadata_limit = metadata_max_bytes - 128
        self.upload_retry_seconds = upload_retry_seconds
        self.on_tick = on_tick
        self.uploads = ThreadPoolExecutor(upload_concurrency, thread_name_prefix=f"{name}-upload")
        self.partitions: dict[Key, PartitionFiles] = {}
        self.resumed: set[Key] = set()  # partitions sent back to their committed offset
        self.consumer: Consumer | None = None

    # --- the consumer loop's calls -------------------------------------------------------

    def start(self, consumer: Consumer) -> None:
        self.consumer = consumer

    def assigned(self, partitions: list[TopicPartition]) -> None:
        for key, progress in self._committed(partitions).items():
            self.partitions[key] = PartitionFiles(*key, progress)
        self._report()

    def revoked(self, partitions: list[TopicPartition]) -> Reread:
        """Write and commit what the revoked partitions hold; whatever cannot be committed is
        left to their next owner, which resumes from the committed progress."""
        leaving = [
            self.partitions[k]
            for p in partitions
            if (k := (p.topic, p.partition)) in self.partitions
        ]
        try:
            self._flush({files: files.close_all() for files in leaving})
        except CommitFailed:
            logger.info(
                "%s: lost %s before committing; the next owner resumes", self.name, _names(leaving)
            )
        for files in leaving:
            self.partitions.pop((files.topic, files.partition), None)
        self._report()
        return frozenset()

    def process(self, messages: list[Message]) -> Reread:
        rotation, route, open_writer = self.rotation, self.route, self.route.open
        self.resumed.clear()
        for key, group in groupby(messages, key=_partition_of):
            files = self.partitions.get(key)
            if files is None or key in self.resumed:
                continue  # a resumed partition is read again from its committed offset
            add, run = files.add, list(group)
            for message, routed in zip(run, map(route, run), strict=True):
                closed = add(message.offset(), routed, open_writer, rotation)
                if closed:
                    self._flush_resuming({files: closed})
                    if key in self.resumed:
                        break
        self._keep_bounds()
        self._report()
        return frozenset(self.resumed)

    def tick(self) -> Reread:
        if self.on_tick is not None:
            self.on_tick()
        now = time.monotonic()
        due = {}
        for files in self.partitions.values():
            aged = files.close_aged(now, self.rotation.seconds)
            if aged:
                due[files] = aged
        self.resumed.clear()
        if due:
            self._flush_resuming(due)
        self._report()
        return frozenset(self.resumed)

    def close(self) -> None:
        """Stop requested: write and commit everything, then stop the upload threads."""
        try:
            self._flush({files: files.close_all() for files in self.partitions.values()})
        except CommitFailed:
            logger.warning("%s: could not commit at shutdown; the next owner resumes", self.name)
        self.partitions.clear()
        self.uploads.shutdown()
        self._report()

    # --- bounds ---------------------------------------------------------------------------

    def _keep_bounds(self) -> None:
        """Memory budget (largest files close first), then the commit metadata's size (the
        file with the oldest first record closes, which lets the offset move up)."""
        total = sum(files.memory for files in self.partitions.values())
        while total > self.memory_bytes:
            owner = max(self.partitions.values(), key=lambda files: files.memory, default=None)
            largest = owner.close_largest() if owner is not None else None
            if largest is None:
                break
            total -= largest.writer.memory
            self._flush_resuming({owner: [largest]})
        for files in list(self.partitions.values()):
            while files.metadata_size() > self.metadata_limit:
                oldest = files.close_oldest()
                if oldest is None:
                    break
                self._flush_resuming({files: [oldest]})

    # --- writing and committing -----------------------------------------------------------

    def _flush_resuming(self, closing: dict[PartitionFiles, list[OpenFile]]) -> None:
        try:
            self._flush(closing)
        except CommitFailed as exc:
            logger.warning(
                "%s: %s; resuming %s from the committed progress", self.name, exc, _names(closing)
            )
            self._resume(list(closing))

    def _flush(self, closing: dict[PartitionFiles, list[OpenFile]]) -> None:
        closing = {files: closed for files, closed in closing.items() if closed}
        if not closing:
            return
        started = time.perf_counter()
        contents = {file: file.writer.finish() for closed in closing.values() for file in closed}
        self._commit({files: files.declare(closed) for files, closed in closing.items()})
        names = {
            file: file.name(files.topic, files.partition)
            for files, closed in closing.items()
            for file in closed
        }
        list(self.uploads.map(lambda file: self._upload(names[file], contents[file]), contents))
        written = {files: files.written(closed) for files, closed in closing.items()}
        self._commit(written)
        for files, progress in written.items():
            files.progress = progress
        for file, data in contents.items():
            kind = file.bucket.kind
            metrics.FILES.labels(self.name, kind).inc()
            metrics.BYTES.labels(self.name, kind).inc(len(data))
            metrics.RECORDS.labels(self.name, kind).inc(file.writer.records)
        metrics.FLUSH_LATENCY.labels(self.name).observe(time.perf_counter() - started)
        logger.debug("%s: wrote %s", self.name, sorted(names.values()))

    def _upload(self, name: str, data: bytes) -> None:
        deadline = time.monotonic() + self.upload_retry_seconds
        delay = 0.5
        while True:
            try:
                put(self.storage, name, data)
                return
            except Exception:
                if time.monotonic() + delay > deadline:
                    raise
                logger.warning("%s: upload of %s failed; retrying", self.name, name, exc_info=True)
                metrics.UPLOAD_RETRIES.labels(self.name).inc()
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _commit(self, progress: dict[PartitionFiles, Progress]) -> None:
        offsets = [
            TopicPartition(files.topic, files.partition, p.offset, metadata=p.encode())
            for files, p in progress.items()
            if p.offset >= 0
        ]
        if not offsets:
            return
        result: list[TopicPartition] = []

        def commit() -> None:
            result.extend(self.consumer.commit(offsets=offsets, asynchronous=False) or ())

        try:
            retrying(commit, COMMIT_ATTEMPTS)
        except KafkaException as exc:
            error = exc.args[0]
            if error.code() == KafkaError._NO_OFFSET:
                return
            raise CommitFailed(f"commit failed: {error.str()}") from exc
        failed = [tp for tp in result if tp.error is not None]
        if failed:
            raise CommitFailed(f"commit failed for {failed}")

    def _committed(self, partitions: list[TopicPartition]) -> dict[Key, Progress]:
        asked = [TopicPartition(p.topic, p.partition) for p in partitions]
        found: list[TopicPartition] = []
        retrying(
            lambda: found.extend(self.consumer.committed(asked, OPERATION_TIMEOUT)),
            COMMIT_ATTEMPTS,
        )
        return {(p.topic, p.partition): Progress.decode(p.offset, p.metadata) for p in found}

    def _resume(self, partitions: list[PartitionFiles]) -> None:
        """Forget what these partitions hold; the loop reads them again from their committed
        offsets (``resumed``), and the rest of the current batch of theirs is ignored."""
        keys = [
            (files.topic, files.partition)
            for files in partitions
            if (files.topic, files.partition) in self.partitions
        ]
        if not keys:
            return
        progress = self._committed([TopicPartition(*key) for key in keys])
        for key, found in progress.items():
            self.partitions[key] = PartitionFiles(*key, found)
            self.resumed.add(key)

    def _report(self) -> None:
        files = [f for p in self.partitions.values() for f in p.files.values()]
        metrics.OPEN_FILES.labels(self.name).set(len(files))
        metrics.BUFFERED_BYTES.labels(self.name).set(sum(f.writer.memory for f in files))
        oldest = min((f.opened_at for f in files), default=None)
        metrics.OLDEST_OPEN_SECONDS.labels(self.name).set(
            0 if oldest is None else time.monotonic() - oldest
        )


def _partition_of(message: Message) -> Key:
    return message.topic(), message.partition()


def _names(partitions) -> list[str]:
    return [f"{files.topic}[{files.partition}]" for files in partitions]
