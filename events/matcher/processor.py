"""The matcher's batch step: raw records in, Avro and unmatched records out, then bookkeeping."""

import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence

from confluent_kafka import Message, TopicPartition
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from events import metrics

from . import unmatched
from .contracts import ContractBook
from .match import Matched, Unmatched, match
from .transactional import Batch, Output, TransactionalLoop
from .unmatched import Source, UnmatchedEvent

logger = logging.getLogger(__name__)


def unmatched_output(event: UnmatchedEvent, raw_key: bytes | None) -> Output:
    event_id = event.unmatched.event_id
    return Output(
        settings.KAFKA_UNMATCHED_TOPIC,
        event_id.encode() if event_id else raw_key,
        unmatched.topic_value(event),
        unmatched.topic_headers(event),
    )


class MatchProcessor:
    def __init__(self, book: ContractBook | None = None) -> None:
        self.book = book or ContractBook()
        self.recorder = unmatched.Recorder()
        self.refreshed_at = self.recorded_at = float("-inf")

    def tick(self) -> None:
        """Reload the contracts every MATCHER_CONTRACT_REFRESH_SECONDS (new versions are used
        within seconds, without a restart); write unmatched events to the database every
        UNMATCHED_RECORD_SECONDS."""
        now = time.monotonic()
        if now - self.recorded_at >= settings.UNMATCHED_RECORD_SECONDS:
            self.recorded_at = now
            self.record_unmatched()
        if now - self.refreshed_at >= settings.MATCHER_CONTRACT_REFRESH_SECONDS:
            close_old_connections()
            self.book.refresh()
            self.book.create_output_topics()
            self.refreshed_at = now

    def close(self) -> None:
        self.record_unmatched()

    def record_unmatched(self) -> None:
        """Write the unmatched events collected so far to the database."""
        if not self.recorder.pending:
            return
        try:
            self.recorder.flush()
        except Exception:  # the unmatched topic has them; the dashboard gets them later
            logger.exception("could not record unmatched events; will try again")

    def process(self, messages: Sequence[Message]) -> Batch:
        seen_at = timezone.now()
        max_bytes = settings.MATCHER_MAX_EVENT_BYTES
        failures: list[UnmatchedEvent] = []
        matched: Counter[str] = Counter()

        # A generator: the loop produces each output as soon as it exists, so librdkafka's
        # threads send while the next events are matched.
        def outputs() -> Iterator[Output]:
            for message in messages:
                raw = message.value() or b""
                outcome = match(raw, self.book, max_bytes)
                if isinstance(outcome, Matched):
                    matched[outcome.event_name] += 1
                    yield outcome
                else:
                    source = Source(message.topic(), message.partition(), message.offset())
                    event = UnmatchedEvent(raw, outcome, source, seen_at)
                    failures.append(event)
                    yield unmatched_output(event, message.key())

        def on_commit() -> None:
            for name, count in matched.items():
                metrics.MATCHER_MATCHED.labels(name).inc(count)
            unmatched_counts = Counter(self._labels(failure.unmatched) for failure in failures)
            for labels, count in unmatched_counts.items():
                metrics.MATCHER_UNMATCHED.labels(*labels).inc(count)
            self.recorder.add(failures)

        return Batch(outputs(), on_commit)

    def _labels(self, failure: Unmatched) -> tuple[str, str]:
        known = failure.event_name is not None and self.book.get(failure.event_name) is not None
        return (failure.event_name if known else "", failure.reason.value)


class BatchReporter:
    """Metrics after each committed batch: its latency and the lag of every owned partition."""

    def __init__(self) -> None:
        self.reported: set[str] = set()

    def __call__(self, loop: TransactionalLoop, size: int, seconds: float) -> None:
        metrics.MATCHER_BATCH_LATENCY.observe(seconds)
        owned = set()
        for topic, partition in list(loop.assigned):
            tp = TopicPartition(topic, partition)
            _, high = loop.consumer.get_watermark_offsets(tp, cached=True)
            [position] = loop.consumer.position([tp])
            if high >= 0 and position.offset >= 0:
                metrics.MATCHER_CONSUMER_LAG.labels(str(partition)).set(high - position.offset)
                owned.add(str(partition))
        for partition in self.reported - owned:  # now another matcher's to report
            metrics.MATCHER_CONSUMER_LAG.remove(partition)
        self.reported = owned
