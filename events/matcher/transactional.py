"""Consume-transform-produce in Kafka transactions: the matcher's commit policy, apart from
what it does with each batch.

Each batch of input records becomes one transaction holding the batch's output records and the
consumer group's next offsets (``send_offsets_to_transaction``): the outputs and the progress
become visible together or not at all. Consumers of the outputs read with
``isolation.level=read_committed``.

A transaction that fails is aborted and the consumer rewinds to the group's committed offsets,
so the batch is processed again. Fatal errors (this transactional id was fenced by another
process using it) end the process.
"""

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from events.kafka import client_config

logger = logging.getLogger(__name__)

OPERATION_TIMEOUT = 30.0
COORDINATOR_MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
}


@dataclass(slots=True)
class Output:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, str]] | None = None  # librdkafka sends str values UTF-8 encoded


@dataclass
class Batch:
    outputs: Iterable[Output]  # produced while iterated, inside the transaction
    on_commit: Callable[[], None] = field(default=lambda: None)


class Processor(Protocol):
    def process(self, messages: Sequence[Message]) -> Batch:
        """Turn input records into output records; no side effect before ``on_commit``, which
        runs only if the batch's transaction commits."""

    def tick(self) -> None:
        """Called between batches (refreshing caches, say)."""

    def close(self) -> None:
        """Called once the loop stops."""


@dataclass(frozen=True)
class LoopConfig:
    topic: str
    group: str
    transactional_id: str
    batch_size: int
    batch_seconds: float
    session_timeout_ms: int = 10000
    transaction_timeout_ms: int = 60000


class TransactionalLoop:
    def __init__(
        self,
        processor: Processor,
        config: LoopConfig,
        on_batch: Callable[["TransactionalLoop", int, float], None] | None = None,
    ) -> None:
        self.processor = processor
        self.config = config
        self.on_batch = on_batch
        self.stopping = False
        self.assigned: set[tuple[str, int]] = set()
        self.consumer = Consumer(
            client_config(
                **{
                    "group.id": config.group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                    "partition.assignment.strategy": "cooperative-sticky",
                    "session.timeout.ms": config.session_timeout_ms,
                }
            )
        )
        self.producer = TransactionalProducer(
            config.transactional_id, config.transaction_timeout_ms
        )

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Process batches until ``stop()`` is called or ``should_stop()`` is true.

        A stop lets the current transaction finish; closing the consumer then leaves the group,
        so the others take over its partitions at once.
        """
        self.consumer.subscribe(
            [self.config.topic],
            on_assign=self._assigned,
            on_revoke=self._revoked,
            on_lost=self._revoked,
        )
        try:
            while not self.stopping and not should_stop():
                self.processor.tick()
                messages = self.consumer.consume(self.config.batch_size, self.config.batch_seconds)
                if messages:
                    self._transact(messages)
        finally:
            self.consumer.close()
            self.producer.close()
            self.processor.close()

    def stop(self) -> None:
        self.stopping = True

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned.update((p.topic, p.partition) for p in partitions)
        logger.info("assigned %s; now owns %s", _names(partitions), sorted(self.assigned))

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # No transaction is open here: callbacks run inside consume(), between batches.
        self.assigned.difference_update((p.topic, p.partition) for p in partitions)
        logger.info("revoked %s; now owns %s", _names(partitions), sorted(self.assigned))

    def _transact(self, messages: list[Message]) -> None:
        started = time.perf_counter()
        inputs = []
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                logger.warning("consumer: %s", error.str())
            # A record fetched before its partition was revoked belongs to the new owner now.
            elif (message.topic(), message.partition()) in self.assigned:
                inputs.append(message)
        if not inputs:
            return
        batch = self.processor.process(inputs)
        try:
            self.producer.send(
                batch.outputs, _next_offsets(inputs), self.consumer.consumer_group_metadata()
            )
        except KafkaException as exc:
            if exc.args[0].fatal() or not exc.args[0].txn_requires_abort():
                raise
            logger.warning("transaction aborted, the batch will be processed again: %s", exc)
            self._rewind()
            return
        batch.on_commit()
        if self.on_batch is not None:
            self.on_batch(self, len(inputs), time.perf_counter() - started)

    def _rewind(self) -> None:
        """Back to the group's committed offsets, after the batch's transaction was aborted."""
        assignment = self.consumer.assignment()
        if not assignment:
            return
        committed: list[TopicPartition] = []
        _retrying(lambda: committed.extend(self.consumer.committed(assignment, OPERATION_TIMEOUT)))
        for partition in committed:
            if partition.offset < 0:
                partition.offset = OFFSET_BEGINNING
            self.consumer.seek(partition)


class TransactionalProducer:
    """Sends output records, and optionally a consumer group's offsets, in one transaction."""

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

    def send(
        self,
        outputs: Iterable[Output],
        offsets: list[TopicPartition] | None = None,
        group_metadata: object | None = None,
    ) -> None:
        """Commit ``outputs`` and ``offsets`` together, or raise after aborting both."""
        try:
            self._producer.begin_transaction()
            for output in outputs:
                self._produce(output)
            if offsets:
                _retrying(
                    lambda: self._producer.send_offsets_to_transaction(
                        offsets, group_metadata, OPERATION_TIMEOUT
                    )
                )
            _retrying(lambda: self._producer.commit_transaction(OPERATION_TIMEOUT))
        except KafkaException as exc:
            if exc.args[0].txn_requires_abort() and not exc.args[0].fatal():
                self._abort()
            raise
        except Exception:  # making the outputs failed: none of them may be committed
            self._abort()
            raise

    def _abort(self) -> None:
        _retrying(lambda: self._producer.abort_transaction(OPERATION_TIMEOUT))

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


def retriable(error: KafkaError) -> bool:
    """Whether asking again may succeed: librdkafka does not flag a moving coordinator so."""
    return error.retriable() or error.code() in COORDINATOR_MOVING


def _retrying(operation: Callable[[], None]) -> None:
    while True:
        try:
            operation()
            return
        except KafkaException as exc:
            if not retriable(exc.args[0]):
                raise
            logger.info("retrying: %s", exc.args[0])
            time.sleep(0.1)


def _names(partitions: list[TopicPartition]) -> list[str]:
    return [f"{p.topic}[{p.partition}]" for p in partitions]


def _next_offsets(messages: Sequence[Message]) -> list[TopicPartition]:
    offsets: dict[tuple[str, int], int] = {}
    for message in messages:
        key = (message.topic(), message.partition())
        offsets[key] = max(offsets.get(key, -1), message.offset() + 1)
    return [
        TopicPartition(topic, partition, offset) for (topic, partition), offset in offsets.items()
    ]
