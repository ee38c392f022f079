"""The consumer loop shared by every long-running consumer (the matcher, the sinks).

The loop owns what all of them do alike: subscribing, following rebalances, consuming batches of
the partitions it owns, reporting lag, stopping on a signal, and starting over after an error.
What a consumer does with its records, and when it commits their offsets, is its ``Policy``: a
Kafka transaction per batch for the matcher, upload-then-commit for a sink. A policy knows
nothing of the loop beyond the consumer it is given.
"""

import gc
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from analytics_site.kafka import client_config, retrying

from . import metrics

logger = logging.getLogger(__name__)

LAG_REPORT_SECONDS = 5.0
OPERATION_TIMEOUT = 30.0

# Partitions a policy wants read again from the group's committed offsets (after an aborted
# transaction, say); what was read of them since is dropped.
Reread = frozenset[tuple[str, int]]


class Policy(Protocol):
    """What a consumer does with its records and when it commits them."""

    def start(self, consumer: Consumer) -> None:
        """Called once, before the loop subscribes."""

    def assigned(self, partitions: list[TopicPartition]) -> None:
        """Partitions given to this consumer (called inside ``consume()``)."""

    def revoked(self, partitions: list[TopicPartition]) -> Reread:
        """Partitions taken away (called inside ``consume()``): return only when nothing of
        theirs is in flight any more (committed, or dropped to be processed by the next owner)."""

    def process(self, messages: list[Message]) -> Reread:
        """Records of owned partitions, in offset order within each partition."""

    def tick(self) -> Reread:
        """Called between batches, at least every ``batch_seconds``: time-based work."""

    def close(self) -> None:
        """The loop stops: finish what is in flight and commit it."""


@dataclass(frozen=True)
class ConsumerConfig:
    name: str  # the consumer's label in metrics and logs: "matcher", "sink-raw", ...
    group: str
    topics: tuple[str, ...]
    batch_size: int
    batch_seconds: float
    session_timeout_ms: int = 10000
    # Static group membership: a process restarted under the same instance name takes its
    # partitions back at once, without a rebalance.
    instance: str | None = None
    settings: Mapping[str, object] = field(default_factory=dict)  # more librdkafka settings


class ConsumerLoop:
    def __init__(self, policy: Policy, config: ConsumerConfig) -> None:
        self.policy = policy
        self.config = config
        self.assigned: set[tuple[str, int]] = set()
        self.topics: tuple[str, ...] = ()
        # Partitions to read again that a rebalance callback named while a batch was being
        # fetched: they are sought back once the fetch has returned, and what it returned for
        # them is dropped. (Seeking inside the callback would leave no way to tell the batch's
        # stale records from the fresh ones fetched after the seek.)
        self._to_rewind: set[tuple[str, int]] = set()
        self._lag_reported_at = 0.0
        self._lag_labels: set[tuple[str, str]] = set()
        self.consumer = Consumer(
            client_config(
                **{
                    "group.id": config.group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                    "partition.assignment.strategy": "cooperative-sticky",
                    "session.timeout.ms": config.session_timeout_ms,
                    **({"group.instance.id": config.instance} if config.instance else {}),
                    **config.settings,
                }
            )
        )

    def subscribe(self, topics: Iterable[str]) -> None:
        """Consume ``topics`` from now on (a policy calls this when its topics change)."""
        topics = tuple(sorted(topics))
        if topics == self.topics:
            return
        self.topics = topics
        self.consumer.subscribe(
            list(topics), on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._revoked
        )
        logger.info("%s: subscribed to %s", self.config.name, ", ".join(topics))

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Process batches until ``should_stop()`` is true (a signal handler's flag, say); then
        let the policy finish and close the consumer."""
        self.policy.start(self.consumer)
        self.subscribe(self.config.topics)
        try:
            while not should_stop():
                self.rewind(self.policy.tick())
                messages = self.consumer.consume(self.config.batch_size, self.config.batch_seconds)
                owned = self._owned(messages)
                if self._to_rewind:
                    self.rewind(frozenset(self._to_rewind))
                    self._to_rewind.clear()
                if owned:
                    self.rewind(self.policy.process(owned))
                self._report_lag()
            self.policy.close()
        finally:
            self.consumer.close()
            self._forget_lag()

    def rewind(self, partitions: Reread) -> None:
        """Seek the owned ones of ``partitions`` back to the group's committed offsets."""
        wanted = [TopicPartition(t, p) for t, p in partitions if (t, p) in self.assigned]
        if not wanted:
            return
        committed: list[TopicPartition] = []
        retrying(lambda: committed.extend(self.consumer.committed(wanted, OPERATION_TIMEOUT)))
        for partition in committed:
            if partition.offset < 0:
                partition.offset = OFFSET_BEGINNING
            self.consumer.seek(partition)

    def _owned(self, messages: list[Message]) -> list[Message]:
        owned = []
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                logger.warning("%s: %s", self.config.name, error.str())
                continue
            key = (message.topic(), message.partition())
            # A record of a partition just revoked, or to be read again, is not ours to use.
            if key in self.assigned and key not in self._to_rewind:
                owned.append(message)
        return owned

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned.update((p.topic, p.partition) for p in partitions)
        self.policy.assigned(partitions)
        logger.info(
            "%s: assigned %s; now owns %s", self.config.name, _names(partitions), self._owns()
        )

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        reread = self.policy.revoked(partitions)
        self.assigned.difference_update((p.topic, p.partition) for p in partitions)
        self._to_rewind |= reread
        logger.info(
            "%s: revoked %s; now owns %s", self.config.name, _names(partitions), self._owns()
        )

    def _owns(self) -> list[str]:
        return [f"{topic}[{partition}]" for topic, partition in sorted(self.assigned)]

    def _report_lag(self) -> None:
        """Records not yet consumed, per owned partition, every few seconds."""
        now = time.monotonic()
        if now - self._lag_reported_at < LAG_REPORT_SECONDS:
            return
        self._lag_reported_at = now
        owned = [TopicPartition(t, p) for t, p in sorted(self.assigned)]
        labels = set()
        for position in self.consumer.position(owned) if owned else []:
            _, high = self.consumer.get_watermark_offsets(position, cached=True)
            if high >= 0 and position.offset >= 0:
                label = (position.topic, str(position.partition))
                metrics.CONSUMER_LAG.labels(self.config.name, *label).set(high - position.offset)
                labels.add(label)
        for gone in self._lag_labels - labels:  # now another consumer's to report
            metrics.CONSUMER_LAG.remove(self.config.name, *gone)
        self._lag_labels = labels

    def _forget_lag(self) -> None:
        for label in self._lag_labels:
            metrics.CONSUMER_LAG.remove(self.config.name, *label)
        self._lag_labels = set()


def run_until_stopped(
    name: str,
    make_loop: Callable[[], ConsumerLoop],
    stop_requested: Callable[[], bool],
    max_backoff: float = 60.0,
) -> None:
    """Run loops until a stop is requested; a loop that fails is logged and started afresh
    from the committed offsets, after a pause that doubles up to ``max_backoff`` seconds.

    A consumer's own failure (broker or database unreachable, a fenced producer) therefore never
    ends the process: only a signal does.
    """
    # What exists now (Django, settings, modules) lives as long as the process: out of the
    # garbage collector's sight, it is not walked again and again while batches allocate
    # (7% of a matched event's instructions).
    gc.freeze()
    backoff = 1.0
    while not stop_requested():
        started = time.monotonic()
        try:
            make_loop().run(should_stop=stop_requested)
            return
        except Exception:
            logger.exception("%s failed; starting again in %.0f s", name, backoff)
        if time.monotonic() - started > max_backoff:
            backoff = 1.0  # it ran well for a while: this is a new failure
        deadline = time.monotonic() + backoff
        while time.monotonic() < deadline and not stop_requested():
            time.sleep(0.2)
        backoff = min(backoff * 2, max_backoff)


def _names(partitions: list[TopicPartition]) -> list[str]:
    return [f"{p.topic}[{p.partition}]" for p in partitions]
