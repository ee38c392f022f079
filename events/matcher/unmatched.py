"""Unmatched events: their record in the unmatched topic, and their groups in the database."""

import base64
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.db.models import F

from events.envelope import record_key
from events.models import UnmatchedGroup, UnmatchedSample
from events.storable import storable

from .match import Reason, Unmatched
from .transactional import Output

logger = logging.getLogger(__name__)

OVERFLOW = "*"


@dataclass(frozen=True)
class Source:
    """Where the raw record is: the key of an event across matching and replays."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class UnmatchedEvent:
    raw: bytes
    unmatched: Unmatched
    source: Source
    seen_at: datetime


def output(failure: "UnmatchedEvent", raw_key: bytes | None, max_bytes: int) -> Output:
    """The unmatched topic's record of ``failure``, keyed like the raw record.

    When copying the raw event would make the record larger than ``max_bytes``, the record
    leaves it out and says so: the raw event stays in the raw topic at ``source``.
    """
    event = failure.unmatched.event
    key = raw_key
    if event is not None:
        key = record_key(event.client_app or None, event.client_id or None, event.event_id or None)
    headers = topic_headers(failure)
    value = topic_value(failure)
    if len(value) + len(key or b"") > max_bytes:
        value = topic_value(failure, omitted=len(value))
    return Output(settings.KAFKA_UNMATCHED_TOPIC, key or raw_key, value, headers)


def topic_value(event: "UnmatchedEvent", omitted: int | None = None) -> bytes:
    """JSON for the unmatched topic: the reason, where the raw record is, and the raw event.

    A too-large event is not copied (it is in the raw topic at ``source``), nor one whose copy
    would make a record of ``omitted`` bytes; a body that is not JSON is kept as text, or base64
    when it is not UTF-8.
    """
    value: dict[str, Any] = {
        "reason": event.unmatched.as_dict(),
        "source": {
            "topic": event.source.topic,
            "partition": event.source.partition,
            "offset": event.source.offset,
        },
        "seen_at": event.seen_at.isoformat(),
    }
    reason = event.unmatched.reason
    if omitted is not None:
        value["event_omitted"] = (
            f"With the raw event this record would be {omitted} bytes, more than Kafka takes; "
            "the raw event is in the raw topic at source."
        )
    elif reason == Reason.MALFORMED_JSON and not _is_json(event.raw):
        try:
            value["raw_text"] = event.raw.decode()
        except UnicodeDecodeError:
            value["raw_base64"] = base64.b64encode(event.raw).decode()
    elif reason != Reason.TOO_LARGE:
        value["event"] = msgspec.Raw(event.raw)
    return msgspec.json.encode(value)


def topic_headers(event: UnmatchedEvent) -> list[tuple[str, str]]:
    headers = [("reason", event.unmatched.reason.value)]
    if event.unmatched.event_name:
        headers.append(("event", event.unmatched.event_name))
    return headers


def _is_json(raw: bytes) -> bool:
    try:
        msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return False
    return True


GroupKey = tuple[str, str, str]  # event name, reason, field


@dataclass
class PendingGroup:
    """What a group gained since the last write: a count, and at most the newest samples."""

    samples: deque[UnmatchedEvent]
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None


class Recorder:
    """Collects unmatched events and writes them to the database in one go on ``flush()``.

    The database holds at most UNMATCHED_MAX_GROUPS groups (plus one overflow group per reason)
    and UNMATCHED_SAMPLES_PER_GROUP samples of each, whatever arrives; what waits in memory for
    the next flush is bounded the same way.
    """

    def __init__(self) -> None:
        self.pending: dict[GroupKey, PendingGroup] = {}

    def add(self, events: Iterable[UnmatchedEvent]) -> None:
        for event in events:
            u = event.unmatched
            key = ((u.event_name or "")[:128], u.reason.value, u.group_field[:500])
            if key not in self.pending and len(self.pending) >= settings.UNMATCHED_MAX_GROUPS:
                key = (OVERFLOW, u.reason.value, OVERFLOW)
            pending = self.pending.get(key)
            if pending is None:
                samples = deque(maxlen=settings.UNMATCHED_SAMPLES_PER_GROUP)
                pending = self.pending[key] = PendingGroup(samples, first_seen=event.seen_at)
            pending.count += 1
            pending.last_seen = event.seen_at
            pending.samples.append(event)

    def flush(self) -> None:
        """Write what is pending; on failure it stays pending for the next flush. A group whose
        data the database refuses (``DataError``) is logged and left out instead, so that it
        cannot hold back every other group forever: its events are in the unmatched topic."""
        with transaction.atomic():
            for key, pending in self.pending.items():
                try:
                    with transaction.atomic():  # a savepoint: a refused group spoils no other
                        group = _count(key, pending)
                        _keep_samples(group, list(pending.samples))
                except DataError:
                    logger.exception("the database refused unmatched group %r; left out", key)
        self.pending = {}


def _count(key: GroupKey, pending: PendingGroup) -> UnmatchedGroup:
    event_name, reason, field = key
    last_message = pending.samples[-1].unmatched.message
    changes = {
        "count": F("count") + pending.count,
        "last_seen": pending.last_seen,
        "last_message": last_message,
    }
    candidates = [(event_name, reason, field), (OVERFLOW, reason, OVERFLOW)]
    for name, reason_code, path in candidates:
        lookup = {"event_name": name, "reason": reason_code, "field": path}
        if UnmatchedGroup.objects.filter(**lookup).update(**changes):
            return UnmatchedGroup.objects.get(**lookup)
        overflow = name == OVERFLOW
        if overflow or UnmatchedGroup.objects.count() < settings.UNMATCHED_MAX_GROUPS:
            try:
                with transaction.atomic():
                    return UnmatchedGroup.objects.create(
                        **lookup,
                        count=pending.count,
                        first_seen=pending.first_seen,
                        last_seen=pending.last_seen,
                        last_message=last_message,
                    )
            except IntegrityError:  # another matcher created it meanwhile
                UnmatchedGroup.objects.filter(**lookup).update(**changes)
                return UnmatchedGroup.objects.get(**lookup)
    raise AssertionError("the overflow group is always created")


def _keep_samples(group: UnmatchedGroup, events: list[UnmatchedEvent]) -> None:
    bound = settings.UNMATCHED_SAMPLES_PER_GROUP
    limit = settings.UNMATCHED_SAMPLE_MAX_BYTES
    UnmatchedSample.objects.bulk_create(
        UnmatchedSample(
            group=group,
            event_id=(event.unmatched.event_id or "")[:64],
            seen_at=event.seen_at,
            detail=event.unmatched.as_dict(),
            raw=storable(event.raw[:limit].decode(errors="replace")),
            raw_truncated=len(event.raw) > limit,
            source_topic=event.source.topic,
            source_partition=event.source.partition,
            source_offset=event.source.offset,
        )
        for event in events[-bound:]
    )
    stale = group.samples.order_by("-id").values_list("id", flat=True)[bound:]
    UnmatchedSample.objects.filter(id__in=list(stale)).delete()
