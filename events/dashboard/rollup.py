"""Keeping ``TrafficCount`` small: merge rows of one key, fold old minutes into hours and old
hours into days, delete what is older than the retention.

The matcher appends a few rows per batch, so one key of one minute may have dozens of rows.
Each run of ``rollup`` (a Celery beat task):

1. deletes rows older than TRAFFIC_RETENTION_DAYS;
2. rewrites every day (older than TRAFFIC_HOURS_DAYS) that still holds hour or minute rows as
   one row per key at the day's start;
3. rewrites every hour (older than TRAFFIC_MINUTES_HOURS) that still holds minute rows as one
   row per key at the hour's start;
4. merges the rows that share a key in the minutes of the last MERGE_LOOKBACK;
5. on SQLite, refreshes the table's statistics, which its query planner needs to use the
   dashboard's indexes.

A bucket is rewritten in one database transaction that deletes exactly the rows it summed (by
id) and inserts their sums: rows the matcher appends meanwhile are left for the next run, and
if another run rewrote the same rows first, the transaction is rolled back. Sums over any time
range are the same before, during and after a run.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from events.models import TrafficCount

from .traffic import day_floor, hour_floor, hours_from, minutes_from, retained_from

logger = logging.getLogger(__name__)

KEY_FIELDS = (
    "event_name",
    "contract_version",
    "reason",
    "field",
    "client_app",
    "platform",
    "app_version",
)
MERGE_LOOKBACK = timedelta(minutes=15)
DELETE_CHUNK = 500


class ConcurrentRollup(Exception):
    """Another run rewrote some of the rows first; this bucket is left to the next run."""


def minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def rollup(now: datetime | None = None) -> dict[str, int]:
    """One pass over the table; returns how many rows were deleted and written."""
    now = now or timezone.now()
    stats = {"expired": 0, "rows_read": 0, "rows_written": 0}
    expired = TrafficCount.objects.filter(minute__lt=retained_from(now))
    stats["expired"] = expired.delete()[0]
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


def _refresh_statistics() -> None:
    """SQLite plans the dashboard's queries with the right indexes only once it has statistics
    of the table (PostgreSQL's autovacuum keeps its own); a sampled ANALYZE takes milliseconds."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit = 1000")
        cursor.execute(f"ANALYZE {TrafficCount._meta.db_table}")


def _between(start: datetime, end: datetime) -> QuerySet:
    return TrafficCount.objects.filter(minute__gte=start, minute__lt=end).order_by()


def _unaligned_buckets(rows: QuerySet, floor: Callable[[datetime], datetime]) -> list[datetime]:
    """Starts of the buckets holding a row that is not at a bucket's start."""
    minutes = rows.values_list("minute", flat=True).distinct()
    return sorted({floor(minute) for minute in minutes if floor(minute) != minute})


def _minutes_with_duplicates(rows: QuerySet) -> list[datetime]:
    duplicated = rows.values("minute", *KEY_FIELDS).annotate(rows=Count("id")).filter(rows__gt=1)
    return sorted(set(duplicated.values_list("minute", flat=True)))


def _rewrite(rows: QuerySet, floor: Callable[[datetime], datetime], stats: dict) -> None:
    """Replace ``rows`` by one row per key at the start of its bucket."""
    sums: dict[tuple, int] = defaultdict(int)
    ids = []
    for pk, minute, *key, count in rows.values_list("pk", "minute", *KEY_FIELDS, "count"):
        ids.append(pk)
        sums[(floor(minute), *key)] += count
    try:
        with transaction.atomic():
            deleted = 0
            for start in range(0, len(ids), DELETE_CHUNK):
                chunk = ids[start : start + DELETE_CHUNK]
                deleted += TrafficCount.objects.filter(pk__in=chunk).delete()[0]
            if deleted != len(ids):
                raise ConcurrentRollup(f"{len(ids) - deleted} rows were rewritten meanwhile")
            TrafficCount.objects.bulk_create(
                TrafficCount(minute=minute, **dict(zip(KEY_FIELDS, key, strict=True)), count=n)
                for (minute, *key), n in sums.items()
            )
    except ConcurrentRollup as exc:
        logger.info("traffic roll-up skipped a bucket: %s", exc)
        return
    stats["rows_read"] += len(ids)
    stats["rows_written"] += len(sums)
