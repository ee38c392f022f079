"""Keeping ``TrafficCount`` small and summarized: merge rows of one key, fold old minutes into
hours and old hours into days, delete what is older than the retention, and add the rows of
complete hours to the dashboard's summaries (``HourlyTraffic``, ``DailyTraffic``).

The matcher appends a few rows per batch, so one key of one minute may have dozens of rows.
Each run of ``rollup`` (a Celery beat task):

1. deletes rows older than TRAFFIC_RETENTION_DAYS, with their days' summaries, and the hourly
   summaries older than a day;
2. adds the rows of complete hours that are not ``summarized`` yet (the last hour's, and rows
   the matcher wrote late for older hours) to the daily summary, and to the hourly one if
   their hour is in the last day, and marks them ``summarized``;
3. rewrites every day (older than TRAFFIC_HOURS_DAYS) that still holds hour or minute rows as
   one row per key at the day's start;
4. rewrites every hour (older than TRAFFIC_MINUTES_HOURS) that still holds minute rows as one
   row per key at the hour's start;
5. merges the rows that share a key in the minutes of the last MERGE_LOOKBACK;
6. on SQLite, refreshes the tables' statistics, which its query planner needs to use the
   dashboard's indexes.

Each step changes rows in database transactions that touch exactly the rows they read (by id
and ``summarized`` state): rows the matcher appends meanwhile are left for the next run, and
if another run changed the same rows first, the transaction is rolled back. A rewrite keeps
summarized and other rows apart, and a row is marked in the transaction that adds it to the
summaries: sums over any time range, read from the rows or from the summaries plus the rows
not marked yet, are the same before, during and after a run.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from events.models import TrafficCount, TrafficFields

from .models import DailyTraffic, HourlyTraffic, TrafficSummary
from .traffic import day_floor, hour_floor, hourly_from, hours_from, minutes_from, retained_from

logger = logging.getLogger(__name__)

KEY_FIELDS = TrafficFields.KEY_FIELDS
MERGE_LOOKBACK = timedelta(minutes=15)
# The hourly summary is kept an hour longer than pages read it (``traffic.hourly_from``), so
# that a page rendered while a run deletes old hours does not miss them.
HOURLY_MARGIN = timedelta(hours=1)
CHUNK = 500  # ids per statement
UPSERT_ROWS = 100  # rows per statement: SQLite takes 999 parameters at most


class ConcurrentRollup(Exception):
    """Another run changed some of the rows first; they are left to the next run."""


def minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def rollup(now: datetime | None = None) -> dict[str, int]:
    """One pass over the table; returns how many rows were deleted, summarized and written."""
    now = now or timezone.now()
    stats = {"expired": 0, "summarized": 0, "rows_read": 0, "rows_written": 0}
    stats["expired"] = _expire(now)
    _summarize(now, stats)
    tiers: list[tuple[QuerySet, Callable[[datetime], datetime], timedelta]] = [
        (_between(retained_from(now), hours_from(now)), day_floor, timedelta(days=1)),
        (_between(hours_from(now), minutes_from(now)), hour_floor, timedelta(hours=1)),
    ]
    for rows, floor, length in tiers:
        for start in _unaligned_buckets(rows, floor):
            _rewrite(rows.filter(minute__gte=start, minute__lt=start + length), floor, stats)
    recent = _between(max(minutes_from(now), now - MERGE_LOOKBACK), minute_floor(now))
    for minute in _minutes_with_duplicates(recent):
        _rewrite(recent.filter(minute=minute), minute_floor, stats)
    _refresh_statistics()
    return stats


def _expire(now: datetime) -> int:
    start = retained_from(now)
    with transaction.atomic():  # the rows and their summary go together
        expired = TrafficCount.objects.filter(minute__lt=start).delete()[0]
        DailyTraffic.objects.filter(minute__lt=start).delete()
    HourlyTraffic.objects.filter(minute__lt=hourly_from(now) - HOURLY_MARGIN).delete()
    return expired


def _summarize(now: datetime, stats: dict) -> None:
    """Add the rows of complete hours not summarized yet to the summaries, a day at a time."""
    pending = TrafficCount.objects.filter(
        summarized=False, minute__gte=retained_from(now), minute__lt=hour_floor(now)
    ).order_by()
    minutes = pending.values_list("minute", flat=True).distinct()
    days = sorted({day_floor(minute) for minute in minutes})
    for day in days:
        rows = pending.filter(minute__gte=day, minute__lt=day + timedelta(days=1))
        stats["summarized"] += _summarize_rows(rows, hourly_from(now) - HOURLY_MARGIN)


def _summarize_rows(rows: QuerySet, hourly_start: datetime) -> int:
    hourly: dict[tuple, int] = defaultdict(int)
    daily: dict[tuple, int] = defaultdict(int)
    ids = []
    for pk, minute, *key, count in rows.values_list("pk", "minute", *KEY_FIELDS, "count"):
        ids.append(pk)
        daily[(day_floor(minute), *key)] += count
        if minute >= hourly_start:
            hourly[(hour_floor(minute), *key)] += count
    try:
        with transaction.atomic():
            marked = 0
            for chunk in _chunks(ids):
                marked += TrafficCount.objects.filter(pk__in=chunk, summarized=False).update(
                    summarized=True
                )
            if marked != len(ids):
                raise ConcurrentRollup(f"{len(ids) - marked} rows were changed meanwhile")
            _add(HourlyTraffic, hourly)
            _add(DailyTraffic, daily)
    except ConcurrentRollup as exc:
        logger.info("traffic roll-up skipped summarizing a day: %s", exc)
        return 0
    return len(ids)


def _add(model: type[TrafficSummary], sums: dict[tuple, int]) -> None:
    """Add ``sums`` ((minute, *key) -> events) to the summary's rows, creating missing ones,
    with upserts: concurrent runs add up instead of overwriting each other."""
    quote = connection.ops.quote_name
    table, count = quote(model._meta.db_table), quote("count")
    key = ", ".join(quote(name) for name in ("minute", *KEY_FIELDS))
    row = f"({', '.join(['%s'] * (len(KEY_FIELDS) + 2))})"
    adapt = connection.ops.adapt_datetimefield_value
    rows = [(adapt(minute), *key_values, n) for (minute, *key_values), n in sorted(sums.items())]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPSERT_ROWS):
            batch = rows[start : start + UPSERT_ROWS]
            cursor.execute(
                f"INSERT INTO {table} ({key}, {count}) VALUES {', '.join([row] * len(batch))} "
                f"ON CONFLICT ({key}) DO UPDATE SET {count} = {table}.{count} + excluded.{count}",
                [value for values in batch for value in values],
            )


def _refresh_statistics() -> None:
    """SQLite plans the dashboard's queries with the right indexes only once it has statistics
    of the tables (PostgreSQL's autovacuum keeps its own); a sampled ANALYZE takes milliseconds."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit = 1000")
        for model in (TrafficCount, HourlyTraffic, DailyTraffic):
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def _between(start: datetime, end: datetime) -> QuerySet:
    return TrafficCount.objects.filter(minute__gte=start, minute__lt=end).order_by()


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    return (ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK))


def _unaligned_buckets(rows: QuerySet, floor: Callable[[datetime], datetime]) -> list[datetime]:
    """Starts of the buckets holding a row that is not at a bucket's start."""
    minutes = rows.values_list("minute", flat=True).distinct()
    return sorted({floor(minute) for minute in minutes if floor(minute) != minute})


def _minutes_with_duplicates(rows: QuerySet) -> list[datetime]:
    key = ("minute", "summarized", *KEY_FIELDS)
    duplicated = rows.values(*key).annotate(rows=Count("id")).filter(rows__gt=1)
    return sorted(set(duplicated.values_list("minute", flat=True)))


def _rewrite(rows: QuerySet, floor: Callable[[datetime], datetime], stats: dict) -> None:
    """Replace ``rows`` by one row per key (summarized ones apart) at the start of its bucket."""
    sums: dict[tuple, int] = defaultdict(int)
    ids: dict[bool, list[int]] = {False: [], True: []}
    fields = ("pk", "minute", "summarized", *KEY_FIELDS, "count")
    for pk, minute, summarized, *key, count in rows.values_list(*fields):
        ids[summarized].append(pk)
        sums[(floor(minute), summarized, *key)] += count
    read = len(ids[False]) + len(ids[True])
    try:
        with transaction.atomic():
            deleted = 0
            for summarized, pks in ids.items():  # unchanged since read: same id, same state
                for chunk in _chunks(pks):
                    chunk_rows = TrafficCount.objects.filter(pk__in=chunk, summarized=summarized)
                    deleted += chunk_rows.delete()[0]
            if deleted != read:
                raise ConcurrentRollup(f"{read - deleted} rows were changed meanwhile")
            TrafficCount.objects.bulk_create(
                TrafficCount(
                    minute=minute,
                    summarized=summarized,
                    **dict(zip(KEY_FIELDS, key, strict=True)),
                    count=n,
                )
                for (minute, summarized, *key), n in sums.items()
            )
    except ConcurrentRollup as exc:
        logger.info("traffic roll-up skipped a bucket: %s", exc)
        return
    stats["rows_read"] += read
    stats["rows_written"] += len(sums)
