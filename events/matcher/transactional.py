"""The matcher's commit policy: each batch's outputs and the consumer group's next offsets in one
Kafka transaction (``send_offsets_to_transaction``), so that outputs and progress become visible
together or not at all. Consumers of the outputs read with ``isolation.level=read_committed``.

Batches are pipelined: while one transaction commits (a few broker round trips, in a background
thread), the next batch is already being matched. Its transaction begins only once the previous
one has committed; if that one was aborted instead, the prepared batch is dropped and the
partitions are read again from the committed offsets. With ``overlap=False``
(MATCHER_OVERLAP_COMMITS) each batch commits before the next is fetched. Fatal errors (this
transactional id was fenced by a newer process using it) are raised.
"""

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition

from analytics_site.kafka import client_config, retrying
from events import metrics
from events.consumer import Reread

logger = logging.getLogger(__name__)

OPERATION_TIMEOUT = 30.0


@dataclass(slots=True)
class Output:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, str | bytes]] | None = None


@dataclass
class Batch:
    outputs: list[Output]
    on_commit: Callable[[], None] = field(default=lambda: None)


class Processor(Protocol):
    def process(self, messages: Sequence[Message]) -> Batch:
        """Turn input records into output records; no side effect before ``on_commit``, which
        runs only if the batch's transaction commits."""

    def tick(self) -> None:
        """Called between batches (refreshing caches, say)."""

    def close(self) -> None:
        """Called once the loop stops."""


class TransactionalProducer:
    """Sends output records, and optionally a consumer group's offsets, in transactions."""

    def __init__(self, transactional_id: str, transaction_timeout_ms: int = 60000) -> None:
        self._producer = Producer(
            client_config(
                **{
                    "transactional.id": transactional_id,
                    "transaction.timeout.ms": transaction_timeout_ms,
                    "linger.ms": 5,
                }
            )
        )
        # Aborts whatever a previous process with this transactional id left open.
        self._producer.init_transactions(OPERATION_TIMEOUT)

    def begin(self, outputs: Iterable[Output]) -> None:
        """Open a transaction and queue ``outputs`` in it."""
        self._producer.begin_transaction()
        try:
            for output in outputs:
                self._produce(output)
        except Exception:
            self._abort()
            raise

    def commit(
        self, offsets: list[TopicPartition] | None = None, group_metadata: object | None = None
    ) -> None:
        """Commit the open transaction with ``offsets``, or raise after aborting it."""
        try:
            if offsets:
                retrying(
                    lambda: self._producer.send_offsets_to_transaction(
                        offsets, group_metadata, OPERATION_TIMEOUT
                    )
                )
            retrying(lambda: self._producer.commit_transaction(OPERATION_TIMEOUT))
        except KafkaException as exc:
            if exc.args[0].txn_requires_abort() and not exc.args[0].fatal():
                self._abort()
            raise

    def send(self, outputs: Iterable[Output]) -> None:
        """Commit ``outputs`` in one transaction, or raise after aborting it."""
        self.begin(outputs)
        self.commit()

    def _abort(self) -> None:
        retrying(lambda: self._producer.abort_transaction(OPERATION_TIMEOUT))

    def _produce(self, output: Output) -> None:
        while True:
            try:
                self._producer.produce(
                    output.topic, output.value, output.key, headers=output.headers
                )
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                self._producer.poll(0.1)

    def close(self) -> None:
        self._producer.flush(OPERATION_TIMEOUT)


@dataclass
class _Committing:
    """A batch whose transaction is committing in the background."""

    done: Future[None]
    on_commit: Callable[[], None]
    partitions: frozenset[tuple[str, int]]
    started: float


class TransactionalPolicy:
    """The consumer loop's policy for the matcher (see ``events.consumer.Policy``)."""

    def __init__(
        self,
        processor: Processor,
        transactional_id: str,
        transaction_timeout_ms: int = 60000,
        name: str = "matcher",
        overlap: bool = True,
    ) -> None:
        self.processor = processor
        self.transactional_id = transactional_id
        self.transaction_timeout_ms = transaction_timeout_ms
        self.name = name
        self.overlap = overlap
        self._committer = ThreadPoolExecutor(1, thread_name_prefix=f"{name}-commit")
        self._committing: _Committing | None = None
        self._aborted: set[tuple[str, int]] = set()  # partitions of aborted batches, to reread

    def start(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.producer = TransactionalProducer(self.transactional_id, self.transaction_timeout_ms)

    def process(self, messages: list[Message]) -> Reread:
        started = time.perf_counter()
        batch = self.processor.process(messages)  # matched while the previous batch commits
        partitions = frozenset((m.topic(), m.partition()) for m in messages)
        self._finish_commit()
        if self._aborted:  # this batch was read after an aborted one: both are read again
            return self._reread() | partitions
        self.producer.begin(batch.outputs)
        offsets = _next_offsets(messages)
        metadata = self.consumer.consumer_group_metadata()
        self._committing = _Committing(
            self._committer.submit(self.producer.commit, offsets, metadata),
            batch.on_commit,
            partitions,
            started,
        )
        if not self.overlap:  # commit before the next batch is fetched and matched
            self._finish_commit()
            return self._reread()
        return frozenset()

    def assigned(self, partitions: list[TopicPartition]) -> None:
        pass

    def revoked(self, partitions: list[TopicPartition]) -> Reread:
        # The next owner starts from what is committed: let the batch in flight finish first.
        self._finish_commit()
        return self._reread()

    def tick(self) -> Reread:
        if self._committing is not None and self._committing.done.done():
            self._finish_commit()
        self.processor.tick()
        return self._reread()

    def close(self) -> None:
        try:
            self._finish_commit()
        finally:
            self._committer.shutdown()
            self.producer.close()
            self.processor.close()

    def _finish_commit(self) -> None:
        """Wait for the transaction in flight, if any; remember its partitions if aborted."""
        committing, self._committing = self._committing, None
        if committing is None:
            return
        try:
            committing.done.result()
        except KafkaException as exc:
            if exc.args[0].fatal() or not exc.args[0].txn_requires_abort():
                raise
            logger.warning(
                "%s: transaction aborted; its batch will be read again: %s", self.name, exc
            )
            self._aborted |= committing.partitions
            return
        committing.on_commit()
        metrics.CONSUMER_BATCH_LATENCY.labels(self.name).observe(
            time.perf_counter() - committing.started
        )

    def _reread(self) -> Reread:
        reread, self._aborted = frozenset(self._aborted), set()
        return reread


def _next_offsets(messages: Sequence[Message]) -> list[TopicPartition]:
    offsets: dict[tuple[str, int], int] = {}
    for message in messages:
        key = (message.topic(), message.partition())
        offsets[key] = max(offsets.get(key, -1), message.offset() + 1)
    return [
        TopicPartition(topic, partition, offset) for (topic, partition), offset in offsets.items()
    ]
