"""The matcher's batch step: raw records in, Avro and unmatched records out, then bookkeeping.

No single event can stop it: an event that makes matching fail unexpectedly becomes an unmatched
record with reason ``internal_error``, and an output that would exceed Kafka's record size is
replaced by an unmatched record that says so.
"""

import logging
import time
from collections import Counter
from collections.abc import Sequence

from confluent_kafka import Message
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from events import metrics

from . import traffic, unmatched
from .contracts import ContractBook
from .match import Matched, Reason, Unmatched, match
from .transactional import Batch, Output
from .unmatched import Source, UnmatchedEvent

logger = logging.getLogger(__name__)


def output_size(output: Output) -> int:
    size = len(output.value) + len(output.key or b"")
    for name, value in output.headers or ():
        size += len(name) + len(value)
    return size


class MatchProcessor:
    def __init__(self, book: ContractBook | None = None) -> None:
        self.book = book or ContractBook()
        self.recorder = unmatched.Recorder()
        self.traffic = traffic.TrafficRecorder()
        self.refreshed_at = self.recorded_at = float("-inf")
        self.failures_logged: set[str] = set()

    def tick(self) -> None:
        """Reload the contracts every MATCHER_CONTRACT_REFRESH_SECONDS (new versions are used
        within seconds, without a restart); write unmatched events and traffic counts to the
        database every UNMATCHED_RECORD_SECONDS."""
        now = time.monotonic()
        if now - self.recorded_at >= settings.UNMATCHED_RECORD_SECONDS:
            self.recorded_at = now
            self.record()
        if now - self.refreshed_at >= settings.MATCHER_CONTRACT_REFRESH_SECONDS:
            close_old_connections()
            self.book.refresh()
            self.book.create_output_topics()
            self.refreshed_at = now

    def close(self) -> None:
        self.record()

    def record(self) -> None:
        """Write the unmatched events and traffic counts collected so far to the database, each
        apart: neither's failure holds the other back."""
        for flush in (self.recorder.flush, self.traffic.flush):
            try:
                flush()
            except Exception:  # the topics have the events; the dashboard gets them later
                logger.exception("could not record unmatched events or counts; will try again")

    def process(self, messages: Sequence[Message]) -> Batch:
        seen_at = timezone.now()
        minute = seen_at.isoformat()[:16]
        max_bytes = settings.MATCHER_MAX_EVENT_BYTES
        max_record = settings.KAFKA_MAX_RECORD_BYTES
        outputs: list[Output] = []
        failures: list[UnmatchedEvent] = []
        matched: Counter[str] = Counter()
        counts: Counter[traffic.TrafficKey] = Counter()

        for message in messages:
            raw = message.value() or b""
            try:
                outcome = match(raw, self.book, max_bytes)
            except Exception as exc:
                outcome = self._internal_error(exc)
            if isinstance(outcome, Matched):
                size = output_size(outcome)
                if size <= max_record:
                    matched[outcome.event_name] += 1
                    counts[
                        traffic.key(outcome.event, minute, outcome.event_name, outcome.version)
                    ] += 1
                    outputs.append(outcome)
                    continue
                outcome = Unmatched(
                    Reason.TOO_LARGE,
                    f"Its Avro record would be {size} bytes; Kafka takes at most {max_record} "
                    "(KAFKA_MAX_RECORD_BYTES).",
                    outcome.event_name,
                    outcome.event.event_id or None,
                    outcome.version,
                    event=outcome.event,
                )
            source = Source(message.topic(), message.partition(), message.offset())
            failure = UnmatchedEvent(raw, outcome, source, seen_at)
            failures.append(failure)
            counts[
                traffic.key(
                    outcome.event,
                    minute,
                    outcome.event_name,
                    outcome.contract_version,
                    outcome.reason.value,
                    outcome.group_field,
                )
            ] += 1
            outputs.append(unmatched.output(failure, message.key(), max_record))

        def on_commit() -> None:
            for name, count in matched.items():
                metrics.MATCHER_MATCHED.labels(name).inc(count)
            unmatched_counts = Counter(self._labels(failure.unmatched) for failure in failures)
            for labels, count in unmatched_counts.items():
                metrics.MATCHER_UNMATCHED.labels(*labels).inc(count)
            self.recorder.add(failures)
            self.traffic.add(counts)

        return Batch(outputs, on_commit)

    def _internal_error(self, exc: Exception) -> Unmatched:
        """An unexpected failure while matching one event: kept as an unmatched record; the
        first failure of each kind is logged with its traceback."""
        kind = type(exc).__name__
        if kind not in self.failures_logged:
            self.failures_logged.add(kind)
            logger.exception("matching an event failed unexpectedly; it is kept as unmatched")
        return Unmatched(
            Reason.INTERNAL_ERROR, f"The matcher failed on this event: {kind}: {exc}", actual=kind
        )

    def _labels(self, failure: Unmatched) -> tuple[str, str]:
        known = failure.event_name is not None and self.book.get(failure.event_name) is not None
        return (failure.event_name if known else "", failure.reason.value)
