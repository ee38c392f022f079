"""Unmatched events in the database stay bounded, whatever arrives, and expire."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.matcher.match import Reason, Unmatched
from events.matcher.unmatched import OVERFLOW, Recorder, Source, UnmatchedEvent
from events.models import ReplayedEvent, UnmatchedGroup, UnmatchedSample
from events.tasks import purge_unmatched

pytestmark = pytest.mark.django_db


def record(events: list[UnmatchedEvent]) -> None:
    recorder = Recorder()
    recorder.add(events)
    recorder.flush()


def failure(event_name: str, offset: int, field: str = "", raw: bytes = b"{}") -> UnmatchedEvent:
    reason = Reason.INVALID_FIELD if field else Reason.UNKNOWN_EVENT
    unmatched = Unmatched(reason, "no", event_name, f"id-{offset}", field=field, group_field=field)
    return UnmatchedEvent(raw, unmatched, Source("raw", 0, offset), timezone.now())


def test_samples_per_group_are_bounded_and_the_newest_kept(settings):
    settings.UNMATCHED_SAMPLES_PER_GROUP = 3

    for start in (0, 10):
        record([failure("signup", offset) for offset in range(start, start + 10)])

    group = UnmatchedGroup.objects.get()
    assert group.count == 20
    assert sorted(group.samples.values_list("source_offset", flat=True)) == [17, 18, 19]


def test_new_kinds_of_failure_beyond_the_group_bound_share_an_overflow_group(settings):
    settings.UNMATCHED_MAX_GROUPS = 2

    record([failure(f"event_{n}", n) for n in range(5)])
    record([failure("event_0", 5), failure("event_9", 6)])

    counts = dict(UnmatchedGroup.objects.values_list("event_name", "count"))
    assert counts == {"event_0": 2, "event_1": 1, OVERFLOW: 4}
    assert UnmatchedGroup.objects.get(event_name=OVERFLOW).field == OVERFLOW


def test_samples_are_cut_and_safe_to_store(settings):
    settings.UNMATCHED_SAMPLE_MAX_BYTES = 8

    record([failure("signup", 1, raw=b"\x00\xff" + b"x" * 100)])

    sample = UnmatchedSample.objects.get()
    assert sample.raw_truncated
    assert sample.raw == "\ufffd\ufffdxxxxxx"


def test_purge_forgets_what_is_older_than_the_retention(settings):
    settings.UNMATCHED_RETENTION_DAYS = 7
    record([failure("old", 1), failure("new", 2)])
    long_ago = timezone.now() - timedelta(days=8)
    UnmatchedGroup.objects.filter(event_name="old").update(last_seen=long_ago)
    UnmatchedSample.objects.filter(group__event_name="new").update(seen_at=long_ago)
    ReplayedEvent.objects.create(source_topic="raw", source_partition=0, source_offset=1)

    purged = purge_unmatched()

    assert purged == {"groups": 1, "samples": 1, "replayed": 0, "runs": 0}
    assert list(UnmatchedGroup.objects.values_list("event_name", flat=True)) == ["new"]
    assert not UnmatchedSample.objects.exists()
    assert ReplayedEvent.objects.count() == 1
