"""The roll-up's summaries of the traffic counts (``HourlyTraffic``, ``DailyTraffic``) and the
dashboard's reads through them: whatever the moment (before a roll-up, after it, right after
the matcher wrote new or late rows), every sum read is the sum of the counts themselves.

The last test runs this module again on SQLite, whose SQL differs (time buckets, the group
filter, the statistics)."""

import os
import random
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db.models import Sum
from django.http import QueryDict
from django.utils import timezone

from events.dashboard import filters, rollup, traffic
from events.dashboard.models import DailyTraffic, HourlyTraffic
from events.dashboard.traffic import DIMENSIONS, MATCHED, GroupKey, OneOf, Scope
from events.models import TrafficCount, TrafficFields

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
MATCHED_KEYS = [  # event, contract version, client app, platform, app version
    ("checkout_completed", 2, "shop-ios", "ios", "4.2.0"),
    ("checkout_completed", 2, "shop-ios", "ios", "4.3.0"),
    ("checkout_completed", 1, "shop-web", "web", "2026.11.1"),
    ("search_performed", 1, "shop-android", "android", "4.3.0"),
    ("app_opened", 3, "shop-ios", "ios", "4.3.0"),
]
UNMATCHED_KEYS = [  # + reason, field
    ("checkout_completed", 2, "shop-ios", "ios", "4.2.0", "invalid_field", "items[].qty"),
    ("checkout_completed", 2, "shop-web", "web", "2026.11.1", "invalid_field", "total"),
    ("signed_up", 0, "shop-android", "android", "4.3.0", "unknown_event", ""),
    ("app_opened", 7, "shop-ios", "ios", "4.3.0", "unknown_version", ""),
]


def add(rng: random.Random, minute: datetime, rows: list) -> None:
    if rng.random() < 0.25:
        key = rng.choice(UNMATCHED_KEYS)
        reason, field = key[5], key[6]
    else:
        key, reason, field = rng.choice(MATCHED_KEYS), MATCHED, ""
    event_name, version, app, platform, app_version = key[:5]
    rows.append(
        TrafficCount(
            minute=minute,
            event_name=event_name,
            contract_version=version,
            reason=reason,
            field=field,
            client_app=app,
            platform=platform,
            app_version=app_version,
            count=rng.randint(1, 40),
        )
    )


def month_of_counts(rng: random.Random, now: datetime) -> None:
    """Rows laid out as the roll-up keeps them (days, hours, minutes), with rows the matcher
    wrote late: minutes in the hours and days tiers, and keys repeated within a minute."""
    rows: list[TrafficCount] = []
    hours_from, minutes_from = traffic.hours_from(now), traffic.minutes_from(now)
    moment = traffic.day_floor(now - timedelta(days=12))
    while moment < now:
        for _ in range(rng.randint(1, 4)):
            add(rng, moment, rows)
        if rng.random() < 0.05:  # late: not at its bucket's start
            add(rng, moment + timedelta(minutes=rng.randint(1, 59)), rows)
        step = 86400 if moment < hours_from else 3600 if moment < minutes_from else 60 * 7
        moment += timedelta(seconds=step)
    TrafficCount.objects.bulk_create(rows)


def late_and_new_rows(rng: random.Random, now: datetime) -> None:
    """What the matcher writes after a roll-up: this minute's rows, and late ones for hours
    and days the summaries already hold."""
    rows: list[TrafficCount] = []
    for ago in (timedelta(0), timedelta(hours=2), timedelta(hours=30), timedelta(days=9)):
        minute = (now - ago).replace(second=0, microsecond=0)
        for _ in range(3):
            add(rng, minute, rows)
    TrafficCount.objects.bulk_create(rows)


def counted(
    scope: Scope,
    columns,
    *,
    step: int | None = None,
    unmatched: bool = False,
    keys: list[GroupKey] | None = None,
) -> Counter:
    """What ``traffic.sums`` must answer, summed in Python from every TrafficCount row."""
    found: Counter = Counter()
    fields = ["minute", *TrafficFields.KEY_FIELDS, "count"]
    for row in TrafficCount.objects.values(*fields):
        if row["minute"] < scope.since or (not scope.open_ended and row["minute"] >= scope.until):
            continue
        if any(row[name] not in accepted for name, accepted in scope.dimensions.items()):
            continue
        reason = row["reason"]
        if scope.reasons and reason != MATCHED and reason not in scope.reasons:
            continue
        if unmatched and reason == MATCHED:
            continue
        if keys is not None and (row["event_name"], reason, row["field"]) not in keys:
            continue
        bucket = (int(row["minute"].timestamp()) // step,) if step else ()
        found[(*bucket, *(row[name] for name in columns))] += row["count"]
    return found


def scopes(rng: random.Random, now: datetime) -> list[tuple[Scope, int]]:
    """(scope, chart step) of every preset range, filtered and not, and of custom ranges."""
    found = []
    for key in filters.RANGES:
        for query in (f"range={key}", f"range={key}&app=shop-ios&reason=invalid_field"):
            chosen = filters.parse(QueryDict(query), now)
            step = traffic.step_for(chosen.since, chosen.until, now)
            found.append((chosen.aligned(step).scope(), step))
    for _ in range(6):  # anywhere, to the minute, up to a week into the future
        since = now - timedelta(minutes=rng.randint(30, 13 * 24 * 60))
        until = min(
            since + timedelta(minutes=rng.randint(20, 14 * 24 * 60)), now + timedelta(days=7)
        )
        dimensions = {"app_version": ("4.3.0", "2026.11.1")} if rng.random() < 0.5 else {}
        found.append((Scope(since, until, dimensions), traffic.step_for(since, until, now)))
    return found


def assert_reads_match_the_counts(now: datetime) -> None:
    rng = random.Random(3)
    group_keys = [GroupKey(key[0], key[5], key[6]) for key in UNMATCHED_KEYS[:3]]
    for scope, step in scopes(rng, now):
        checks = [
            (list(DIMENSIONS), {}),
            (["reason"], {"step": step}),
            (["client_app", "platform", "app_version", "contract_version"], {"unmatched": True}),
            (list(GroupKey._fields), {"unmatched": True}),
            (list(GroupKey._fields), {"step": step, "unmatched": True, "keys": group_keys}),
        ]
        for columns, options in checks:
            keys = options.pop("keys", None)
            where = {"where": OneOf(GroupKey._fields, keys)} if keys else {}
            rows = traffic.sums(scope, columns, **options, **where)
            read = Counter({tuple(row[:-1]): row[-1] for row in rows})
            assert read == counted(scope, columns, **options, keys=keys), (scope, columns, options)


def summaries_of_marked_rows(now: datetime) -> tuple[Counter, Counter]:
    """What the hourly and daily summaries must hold: the marked rows' sums."""
    hourly, daily = Counter(), Counter()
    hourly_from = traffic.hourly_from(now) - rollup.HOURLY_MARGIN
    for row in TrafficCount.objects.filter(summarized=True).values():
        key = tuple(row[name] for name in rollup.KEY_FIELDS)
        daily[(traffic.day_floor(row["minute"]), *key)] += row["count"]
        if row["minute"] >= hourly_from:
            hourly[(traffic.hour_floor(row["minute"]), *key)] += row["count"]
    return hourly, daily


def stored(model) -> Counter:
    fields = ["minute", *rollup.KEY_FIELDS, "count"]
    return Counter({tuple(row[:-1]): row[-1] for row in model.objects.values_list(*fields)})


@pytest.fixture
def now(settings) -> datetime:
    settings.TRAFFIC_MINUTES_HOURS = 6
    settings.TRAFFIC_HOURS_DAYS = 7
    settings.TRAFFIC_RETENTION_DAYS = 10
    return timezone.now()


def test_reads_equal_the_counts_before_and_after_roll_ups_and_right_after_new_rows(now, settings):
    rng = random.Random(11)
    month_of_counts(rng, now)
    assert_reads_match_the_counts(now)  # nothing summarized yet

    stats = rollup.rollup(now)
    assert stats["summarized"] > 0 and stats["expired"] > 0
    assert_reads_match_the_counts(now)

    late_and_new_rows(rng, now)  # not in the summaries yet, and read at once
    assert_reads_match_the_counts(now)

    rollup.rollup(now)
    assert_reads_match_the_counts(now)
    pending = TrafficCount.objects.filter(summarized=False).values_list("minute", flat=True)
    assert pending and all(minute >= traffic.hour_floor(now) for minute in pending)

    for hours in (2, 12):  # an operator changes how long minutes are kept
        settings.TRAFFIC_MINUTES_HOURS = hours
        assert_reads_match_the_counts(now)


def test_the_summaries_hold_exactly_the_rows_marked_summarized(now):
    rng = random.Random(5)
    month_of_counts(rng, now)
    rollup.rollup(now)
    late_and_new_rows(rng, now)
    rollup.rollup(now)

    hourly, daily = summaries_of_marked_rows(now)

    assert stored(DailyTraffic) == daily
    assert stored(HourlyTraffic) == hourly
    total = TrafficCount.objects.filter(summarized=True).aggregate(n=Sum("count"))["n"]
    assert DailyTraffic.objects.aggregate(n=Sum("count"))["n"] == total
    assert min(DailyTraffic.objects.values_list("minute", flat=True)) >= traffic.retained_from(now)
    assert min(HourlyTraffic.objects.values_list("minute", flat=True)) >= (
        traffic.hourly_from(now) - rollup.HOURLY_MARGIN
    )


def test_the_check_fails_when_a_summary_disagrees_with_the_counts(now):
    month_of_counts(random.Random(2), now)
    rollup.rollup(now)
    row = DailyTraffic.objects.filter(minute__gte=now - timedelta(days=5)).first()
    row.count += 1
    row.save()

    with pytest.raises(AssertionError):
        assert_reads_match_the_counts(now)


def test_wide_views_read_the_summaries_and_only_the_edges_from_the_counts(settings):
    settings.TRAFFIC_MINUTES_HOURS = 6
    now = datetime(2026, 11, 27, 14, 20, tzinfo=UTC)
    month = traffic.day_floor(now - timedelta(days=30))
    week = datetime(2026, 11, 20, 12, tzinfo=UTC)  # 7 days back, on a 3-hour bucket
    hours = traffic.hourly_from(now)  # a day ago, where the hourly summary starts

    assert traffic.sources(month, None, now, 86400) == [
        (TrafficCount, (month, None), True),
        (DailyTraffic, (month, None), False),
    ]
    assert traffic.sources(week, None, now, None) == [
        (TrafficCount, (week, traffic.day_floor(week) + timedelta(days=1)), False),
        (TrafficCount, (datetime(2026, 11, 21, tzinfo=UTC), None), True),
        (DailyTraffic, (datetime(2026, 11, 21, tzinfo=UTC), None), False),
    ]
    assert traffic.sources(week, None, now, 3 * 3600) == [
        (TrafficCount, (week, hours), False),
        (TrafficCount, (hours, None), True),
        (HourlyTraffic, (hours, None), False),
    ]
    ten_past = now - timedelta(hours=1)  # minute steps: the counts alone
    assert traffic.sources(ten_past, None, now, 60) == [(TrafficCount, (ten_past, None), False)]


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("sqlite"),
    reason="this run is itself on SQLite: the other tests here already cover it (and a rerun "
    "in a subprocess would only repeat them)",
)
def test_the_same_on_sqlite(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    tests = [f"{__file__}", str(ROOT / "tests" / "test_dashboard_traffic.py")]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert " passed" in run.stdout and "skipped" in run.stdout  # this test, not run twice
