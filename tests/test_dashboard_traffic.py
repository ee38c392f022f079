"""Traffic counts: what the dashboard reads from them, and the roll-up that keeps them small."""

from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.db.models import Sum

from events.dashboard import rollup, traffic
from events.dashboard.models import DailyTraffic, HourlyTraffic
from events.dashboard.traffic import Scope
from events.models import TrafficCount

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 27, 12, 30, 15, tzinfo=UTC)


def add(minute: datetime, count: int, **dimensions) -> TrafficCount:
    values = {"event_name": "checkout_completed", "client_app": "shop-ios", "platform": "ios"}
    values.update({"app_version": "4.2.0", **dimensions})
    return TrafficCount.objects.create(minute=minute, count=count, **values)


def totals_by(floor, since: datetime | None = None) -> Counter:
    """Events per (bucket, key) however the rows are laid out."""
    found = Counter()
    rows = TrafficCount.objects.all()
    for row in rows.filter(minute__gte=since) if since else rows:
        key = tuple(getattr(row, name) for name in rollup.KEY_FIELDS)
        found[(floor(row.minute), key)] += row.count
    return found


@pytest.fixture
def tiers(settings):
    settings.TRAFFIC_MINUTES_HOURS = 6
    settings.TRAFFIC_HOURS_DAYS = 7
    settings.TRAFFIC_RETENTION_DAYS = 30


def test_rollup_folds_old_minutes_into_hours_and_old_hours_into_days(tiers):
    old_minute = NOW - timedelta(hours=9, minutes=10)  # in the hours tier
    for _ in range(3):  # the matcher appends a row per flush
        add(old_minute.replace(second=0, microsecond=0), 2)
        add(old_minute.replace(minute=50, second=0, microsecond=0), 1)
    add(old_minute.replace(minute=5, second=0, microsecond=0), 4, reason="invalid_field")
    old_hour = (NOW - timedelta(days=10)).replace(minute=0, second=0, microsecond=0)
    add(old_hour, 5)
    add(old_hour + timedelta(hours=3), 6)
    add(old_hour + timedelta(hours=3, minutes=7), 7)  # a late minute row in the days tier
    hours = traffic.hours_from(NOW)
    hourly, daily = totals_by(traffic.hour_floor, hours), totals_by(traffic.day_floor)

    stats = rollup.rollup(NOW)

    assert totals_by(traffic.hour_floor, hours) == hourly
    assert totals_by(traffic.day_floor) == daily
    hour = traffic.hour_floor(old_minute)
    assert sorted(
        TrafficCount.objects.filter(
            minute__gte=hour, minute__lt=hour + timedelta(hours=1)
        ).values_list("minute", "reason", "count")
    ) == [(hour, "", 9), (hour, "invalid_field", 4)]
    day = traffic.day_floor(old_hour)
    assert list(
        TrafficCount.objects.filter(minute__lt=day + timedelta(days=1)).values_list(
            "minute", "count"
        )
    ) == [(day, 18)]
    assert stats["rows_read"] == 10 and stats["rows_written"] == 3


def test_rollup_merges_recent_duplicates_and_keeps_distinct_keys(tiers):
    minute = (NOW - timedelta(minutes=3)).replace(second=0, microsecond=0)
    for _ in range(4):
        add(minute, 1)
    add(minute, 10, app_version="4.3.0")
    current = NOW.replace(second=0, microsecond=0)
    add(current, 1)
    add(current, 1)  # the minute still being written is left alone

    rollup.rollup(NOW)

    assert sorted(
        TrafficCount.objects.filter(minute=minute).values_list("app_version", "count")
    ) == [("4.2.0", 4), ("4.3.0", 10)]
    assert TrafficCount.objects.filter(minute=current).count() == 2


def test_rollup_deletes_what_is_older_than_the_retention_and_is_idempotent(tiers):
    add(NOW - timedelta(days=31), 3)
    kept = add(NOW - timedelta(days=20), 4)
    rollup.rollup(NOW)
    layout = sorted(TrafficCount.objects.values_list("minute", "count"))

    stats = rollup.rollup(NOW)

    assert layout == [(traffic.day_floor(kept.minute), 4)]
    assert sorted(TrafficCount.objects.values_list("minute", "count")) == layout
    assert stats == {"expired": 0, "summarized": 0, "rows_read": 0, "rows_written": 0}


def another_run_first(monkeypatch, change) -> None:
    """Make the roll-up's next transaction find that another run did ``change`` after this
    run read its rows."""

    @contextmanager
    def atomic():
        change()
        with transaction.atomic():
            yield

    monkeypatch.setattr(rollup, "transaction", SimpleNamespace(atomic=atomic))


def hour_rows(hour: datetime):
    return TrafficCount.objects.filter(minute__gte=hour, minute__lt=hour + timedelta(hours=1))


def test_a_rewrite_leaves_rows_another_run_rewrote_first(tiers, monkeypatch):
    hour = traffic.hour_floor(NOW - timedelta(hours=8))
    taken = add(hour + timedelta(minutes=1), 1)
    left = add(hour + timedelta(minutes=2), 2)

    def rewritten():
        TrafficCount.objects.filter(pk=taken.pk).delete()
        add(hour, 1)

    another_run_first(monkeypatch, rewritten)
    rollup._rewrite(hour_rows(hour), traffic.hour_floor, Counter())

    assert TrafficCount.objects.aggregate(n=Sum("count"))["n"] == 3
    assert TrafficCount.objects.filter(pk=left.pk).exists()  # left to the next run


def test_a_rewrite_leaves_rows_another_run_summarized_first(tiers, monkeypatch):
    hour = traffic.hour_floor(NOW - timedelta(hours=8))
    marked = add(hour + timedelta(minutes=1), 1)
    add(hour + timedelta(minutes=2), 2)
    rows = list(hour_rows(hour).values_list("pk", "summarized", "count"))

    def summarized():
        TrafficCount.objects.filter(pk=marked.pk).update(summarized=True)

    another_run_first(monkeypatch, summarized)
    rollup._rewrite(hour_rows(hour), traffic.hour_floor, Counter())

    # Rewritten as not summarized, the marked row would count twice (it is in the summaries).
    assert sorted(hour_rows(hour).values_list("pk", "summarized", "count")) == sorted(
        (pk, pk == marked.pk, count) for pk, _, count in rows
    )


def test_summarizing_leaves_rows_another_run_changed_first(tiers, monkeypatch):
    hour = traffic.hour_floor(NOW - timedelta(hours=2))
    gone = add(hour + timedelta(minutes=1), 1)
    add(hour + timedelta(minutes=2), 2)

    another_run_first(monkeypatch, lambda: TrafficCount.objects.filter(pk=gone.pk).delete())
    done = rollup._summarize_rows(hour_rows(hour), traffic.hourly_from(NOW))

    assert done == 0
    assert not TrafficCount.objects.filter(summarized=True).exists()
    assert not DailyTraffic.objects.exists() and not HourlyTraffic.objects.exists()


def test_timeline_breakdown_and_score_over_mixed_tiers(tiers):
    since, until = NOW - timedelta(days=2), NOW
    hour = traffic.hour_floor(NOW - timedelta(hours=20))
    add(hour, 90)
    add(hour, 10, reason="invalid_field", field="total")
    add(NOW - timedelta(minutes=30), 5, client_app="shop-web", platform="web")
    add(NOW - timedelta(minutes=30), 5, reason="unknown_event", event_name="signed_up")
    add(NOW - timedelta(days=3), 1000)  # outside the range
    scope = Scope(since, until)

    step = traffic.step_for(since, until, NOW)
    series = traffic.timeline(scope, step)
    counts = traffic.breakdown(scope)

    assert step == 3600
    assert sum(series.matched) == 95 and sum(series.unmatched) == 15
    index = traffic.bucket_of(hour, step) - series.first
    assert (series.matched[index], series.unmatched[index]) == (90, 10)
    assert series.shares[index] == pytest.approx(0.1)
    assert (counts.matched, counts.unmatched, counts.score) == (95, 15, pytest.approx(95 / 110))
    assert dict(counts.facets["client_app"].counts) == {"shop-ios": [90, 15], "shop-web": [5, 0]}
    assert dict(counts.facets["reason"].counts) == {
        "invalid_field": [0, 10],
        "unknown_event": [0, 5],
    }


def test_a_facet_ignores_its_own_filter_and_reasons_narrow_the_unmatched_side(tiers):
    minute = NOW - timedelta(minutes=10)
    add(minute, 50)
    add(minute, 20, client_app="shop-web", platform="web")
    add(minute, 4, reason="invalid_field", field="total")
    add(minute, 6, reason="unknown_event", client_app="shop-web", platform="web")
    scope = Scope(NOW - timedelta(hours=1), NOW, {"client_app": ("shop-web",)}, ("unknown_event",))

    counts = traffic.breakdown(scope)

    assert (counts.matched, counts.unmatched) == (20, 6)
    assert dict(counts.facets["client_app"].counts) == {"shop-ios": [50, 0], "shop-web": [20, 6]}
    assert dict(counts.facets["reason"].counts) == {"unknown_event": [0, 6]}
    rows = traffic.group_totals(scope)
    assert rows == {("checkout_completed", "unknown_event", ""): 6}


def test_group_trends_and_counts_by_sender(tiers):
    key = ("checkout_completed", "invalid_field", "items[].qty")
    minute = (NOW - timedelta(minutes=90)).replace(second=0, microsecond=0)
    add(minute, 3, reason=key[1], field=key[2], contract_version=2)
    add(minute + timedelta(minutes=40), 4, reason=key[1], field=key[2], app_version="4.3.0")
    add(minute, 100)
    scope = traffic.group_scope(Scope(NOW - timedelta(hours=6), NOW), key)

    trends = traffic.group_trends(scope, [key], 3600)
    senders = traffic.counts_by(scope, "client_app", "app_version", unmatched=True)

    assert sum(trends[key]) == 7 and len(trends[key]) in (6, 7)
    assert senders == [("shop-ios", "4.3.0", 4), ("shop-ios", "4.2.0", 3)]
    assert traffic.counts_by(scope, "contract_version", unmatched=True) == [(0, 4), (2, 3)]


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (timedelta(hours=1), 60),
        (timedelta(hours=6), 300),
        (timedelta(hours=24), 3600),
        (timedelta(days=7), 3 * 3600),
        (timedelta(days=30), 86400),
    ],
)
def test_chart_steps_are_no_finer_than_the_stored_rows(tiers, span, step):
    assert traffic.step_for(NOW - span, NOW, NOW) == step


def test_beat_schedules_the_roll_up_and_the_alert_checks(settings):
    from analytics_site.celery import app
    from events.dashboard.tasks import rollup_traffic

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"events.dashboard.tasks.rollup_traffic", "events.dashboard.tasks.check_alerts"} <= (
        scheduled
    )
    assert scheduled <= set(app.tasks)
    add(NOW - timedelta(days=400), 1)
    assert rollup_traffic.apply().result["expired"] == 1
