"""Matching recorded unmatched events again, after a contract or client fix.

The unmatched topic holds every unmatched event with its reason, so a replay reads it (from the
first record of the time range), keeps the records its filters select and runs each raw event
through the same ``match`` as the matcher. Events that match now go to their contract's topic in
a Kafka transaction; events that still match nothing are counted, not written again (their
record is already in the unmatched topic).

Replaying the same events twice produces nothing twice: every event a replay matched is kept in
``ReplayedEvent`` (keyed by the raw record's topic, partition and offset), inserted in a database
transaction that commits right after the Kafka transaction. Two replays of the same events wait
on each other's rows and the later one skips them.
"""

import base64
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from analytics_site.kafka import client_config
from events.models import ReplayedEvent, ReplayRun, UnmatchedGroup

from .contracts import ContractBook
from .match import Matched, Unmatched, match
from .transactional import TransactionalProducer
from .unmatched import OVERFLOW

TIMEOUT = 30.0


@dataclass(frozen=True)
class ReplayFilter:
    """Which unmatched events to replay; ``None`` (or ``*`` of an overflow group) means any.

    ``groups`` selects events of any of these (event name, reason, field) groups; the tuples of
    client apps, platforms and app versions are read from the raw event. Empty means any.
    """

    event_name: str | None = None
    reason: str | None = None
    field: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    groups: tuple[tuple[str, str, str], ...] = ()
    client_apps: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    app_versions: tuple[str, ...] = ()

    @classmethod
    def for_group(cls, group: UnmatchedGroup, **times: datetime | None) -> "ReplayFilter":
        return cls(group.event_name, group.reason, group.field, **times)

    @classmethod
    def from_json(cls, data: dict) -> "ReplayFilter":
        times = {k: datetime.fromisoformat(data[k]) for k in ("since", "until") if data.get(k)}
        lists = {k: tuple(data.get(k, ())) for k in ("client_apps", "platforms", "app_versions")}
        groups = tuple(tuple(group) for group in data.get("groups", ()))
        return cls(
            data.get("event_name"),
            data.get("reason"),
            data.get("field"),
            **times,
            groups=groups,
            **lists,
        )

    def as_json(self) -> dict:
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(self).items()
            if value is not None and value != ()
        }

    def selects(self, reason: dict, timestamp: datetime, event: Any = None) -> bool:
        key = (
            reason.get("event_name") or "",
            reason.get("reason"),
            reason.get("group_field") or "",
        )
        return (
            _same(self.event_name, key[0])
            and _same(self.reason, key[1])
            and _same(self.field, key[2])
            and (self.since is None or timestamp >= self.since)
            and (self.until is None or timestamp < self.until)
            and (not self.groups or any(_same_group(group, key) for group in self.groups))
            and _sent_by(event, "client_app", self.client_apps)
            and _sent_by(event, "platform", self.platforms)
            and _sent_by(event, "app_version", self.app_versions)
        )


def _same(wanted: str | None, actual: str | None) -> bool:
    return wanted is None or wanted in (OVERFLOW, actual)


def _same_group(wanted: tuple[str, ...], key: tuple) -> bool:
    return all(_same(w, actual) for w, actual in zip(wanted, key, strict=True))


def _sent_by(event: Any, name: str, wanted: tuple[str, ...]) -> bool:
    return not wanted or (isinstance(event, dict) and event.get(name) in wanted)


@dataclass(frozen=True)
class Candidate:
    source: tuple[str, int, int]
    raw: bytes
    reason: dict


def replay(run: ReplayRun, on_progress: Callable[[ReplayRun], None] = lambda run: None) -> None:
    """Replay what ``run.filters`` selects, saving the counts on ``run`` as it goes."""
    replay_filter = ReplayFilter.from_json(run.filters)
    run.status, run.started_at = ReplayRun.Status.RUNNING, timezone.now()
    run.save()
    book = ContractBook()
    book.refresh()
    book.create_output_topics()
    producer = TransactionalProducer(
        f"{settings.MATCHER_TRANSACTIONAL_ID_PREFIX}-replay-{run.pk}-{uuid.uuid4().hex[:8]}"
    )
    try:
        batch: list[Candidate] = []
        for candidate in _read(run, replay_filter):
            batch.append(candidate)
            if len(batch) >= settings.REPLAY_BATCH_SIZE:
                _replay_batch(run, batch, book, producer)
                batch = []
                run.save()
                on_progress(run)
        if batch:
            _replay_batch(run, batch, book, producer)
        run.status = ReplayRun.Status.SUCCEEDED
    except Exception as exc:
        run.status, run.error = ReplayRun.Status.FAILED, repr(exc)
        raise
    finally:
        run.finished_at = timezone.now()
        run.save()
        producer.close()
        on_progress(run)


def summary(run: ReplayRun) -> str:
    """The run's counts in a sentence, for people."""
    read = (
        f"read {run.scanned} unmatched events"
        if run.status == ReplayRun.Status.SUCCEEDED
        else f"read {run.scanned} of at most {run.total} unmatched events"
    )
    return (
        f"replay {run.pk} ({run.status}): {read}, selected {run.selected}: {run.matched} "
        f"matched now, {run.still_unmatched} still unmatched, {run.already_replayed} matched "
        "by an earlier replay"
    )


def _read(run: ReplayRun, replay_filter: ReplayFilter) -> Iterator[Candidate]:
    """The selected records of the unmatched topic, up to where it ended when the run began."""
    topic = settings.KAFKA_UNMATCHED_TOPIC
    consumer = Consumer(
        client_config(
            **{
                "group.id": f"replay-{run.pk}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            }
        )
    )
    try:
        starts, ends = _range(consumer, topic, replay_filter.since)
        run.total = sum(ends[p] - starts[p].offset for p in ends)
        consumer.assign([starts[p] for p in ends])
        remaining = set(ends)
        while remaining:
            message = consumer.poll(TIMEOUT)
            if message is None:
                raise TimeoutError(f"no record from {topic} in {TIMEOUT:.0f}s")
            partition = message.partition()
            if message.error() is not None:
                if message.error().code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(message.error().str())
                remaining.discard(partition)
                continue
            if message.offset() + 1 >= ends[partition]:
                remaining.discard(partition)
            if message.offset() >= ends[partition]:
                continue
            run.scanned += 1
            candidate = _candidate(message, replay_filter)
            if candidate is not None:
                run.selected += 1
                yield candidate
        # Until now ``total`` counted offsets, which commit markers of the transactions that
        # wrote the topic take too; now that every record is read, it is the number of events.
        run.total = run.scanned
    finally:
        consumer.close()


def _range(
    consumer: Consumer, topic: str, since: datetime | None
) -> tuple[dict[int, TopicPartition], dict[int, int]]:
    """Where to start reading each partition, and the end offset to read up to; partitions with
    nothing to read are left out."""
    partitions = consumer.list_topics(topic, timeout=TIMEOUT).topics[topic].partitions
    firsts = dict.fromkeys(partitions, 0)
    if since is not None:
        wanted = [TopicPartition(topic, p, int(since.timestamp() * 1000)) for p in partitions]
        for found in consumer.offsets_for_times(wanted, timeout=TIMEOUT):
            firsts[found.partition] = found.offset  # -1: no record that late
    starts, ends = {}, {}
    for partition, first in firsts.items():
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), TIMEOUT)
        start = max(low, first)
        if first >= 0 and high > start:
            starts[partition] = TopicPartition(topic, partition, start)
            ends[partition] = high
    return starts, ends


def _candidate(message: Message, replay_filter: ReplayFilter) -> Candidate | None:
    record = msgspec.json.decode(message.value())
    _, timestamp_ms = message.timestamp()
    seen = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    if not replay_filter.selects(record["reason"], seen, record.get("event")):
        return None
    if "event" in record:
        raw = msgspec.json.encode(record["event"])
    elif "raw_text" in record:
        raw = record["raw_text"].encode()
    elif "raw_base64" in record:
        raw = base64.b64decode(record["raw_base64"])
    else:
        raw = b""  # too large to copy: it cannot match now either
    source = record["source"]
    return Candidate(
        (source["topic"], source["partition"], source["offset"]), raw, record["reason"]
    )


def _replay_batch(
    run: ReplayRun, batch: list[Candidate], book: ContractBook, producer: TransactionalProducer
) -> None:
    while True:
        try:
            with transaction.atomic():
                _replay_once(run, batch, book, producer)
            return
        except IntegrityError:  # another replay matched some of them meanwhile: skip those
            continue


def _replay_once(
    run: ReplayRun, batch: list[Candidate], book: ContractBook, producer: TransactionalProducer
) -> None:
    done = _already_replayed(batch)
    outputs, ledger, resolved = [], [], Counter()
    failures: list[Unmatched] = []
    for candidate in batch:
        if candidate.source in done:
            continue
        outcome = match(candidate.raw, book, settings.MATCHER_MAX_EVENT_BYTES)
        if not isinstance(outcome, Matched):
            failures.append(outcome)
            continue
        outputs.append(outcome)
        topic, partition, offset = candidate.source
        ledger.append(
            ReplayedEvent(
                source_topic=topic,
                source_partition=partition,
                source_offset=offset,
                event_id=(outcome.event.event_id or "")[:64],
                run=run,
            )
        )
        reason = candidate.reason
        resolved[(reason.get("event_name") or "", reason["reason"], reason["group_field"])] += 1
    # The rows first: a concurrent replay of the same events waits here, then fails and retries.
    # Inserting in one order everywhere keeps two replays from deadlocking.
    ledger.sort(key=lambda row: (row.source_topic, row.source_partition, row.source_offset))
    ReplayedEvent.objects.bulk_create(ledger)
    producer.send(outputs)
    for key, count in resolved.items():
        _resolve(key, count)
    run.already_replayed += len(done)
    run.matched += len(outputs)
    run.still_unmatched += len(failures)
    run.failures = _count_failures(run.failures, failures)


def _count_failures(counted: list[dict], failures: list[Unmatched]) -> list[dict]:
    """Why events still fail: one entry per (event, reason, field), with a message, most first."""
    entries = {(e["event_name"], e["reason"], e["field"]): e for e in counted}
    for failure in failures:
        key = (failure.event_name or "", failure.reason.value, failure.group_field)
        entry = entries.setdefault(
            key,
            {
                "event_name": key[0],
                "reason": key[1],
                "field": key[2],
                "count": 0,
                "message": failure.message,
            },
        )
        entry["count"] += 1
    return sorted(entries.values(), key=lambda entry: -entry["count"])


def _already_replayed(batch: list[Candidate]) -> set[tuple[str, int, int]]:
    wanted = Q()
    for topic, partition, offset in {c.source for c in batch}:
        wanted |= Q(source_topic=topic, source_partition=partition, source_offset=offset)
    rows = ReplayedEvent.objects.filter(wanted).values_list(
        "source_topic", "source_partition", "source_offset"
    )
    return set(rows)


def _resolve(key: tuple[str, str, str], count: int) -> None:
    event_name, reason, field = key
    groups = UnmatchedGroup.objects.filter(event_name=event_name, reason=reason, field=field)
    if not groups.update(resolved_count=F("resolved_count") + count):
        UnmatchedGroup.objects.filter(event_name=OVERFLOW, reason=reason, field=OVERFLOW).update(
            resolved_count=F("resolved_count") + count
        )
