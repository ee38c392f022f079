"""Reading the matcher's traffic counts (``events.models.TrafficCount``) for the dashboard.

A row counts the events of one minute, hour or day with the same dimensions; which one depends
on its age only (``rollup.py`` folds old minutes into hours and old hours into days, and the
tiers never overlap), so a sum over a time range never counts an event twice. Queries group by
the stored ``minute`` value and put it into display buckets in Python: the number of distinct
values is bounded by the tiers (a few hundred), whereas date functions would run once per row
(in Python, on SQLite).
"""

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet, Sum

from events.models import TrafficCount

MATCHED = ""  # the reason of matched events
# The dimensions analysts filter on: TrafficCount field -> URL parameter.
DIMENSIONS = {
    "event_name": "event",
    "reason": "reason",
    "client_app": "app",
    "platform": "platform",
    "app_version": "app_version",
}
GroupKey = tuple[str, str, str]  # event name, reason, field: an unmatched group
# Display steps, finest first; a chart has at most MAX_POINTS of them.
STEPS = (60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
MAX_POINTS = 120


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def day_floor(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def minutes_from(now: datetime) -> datetime:
    """Rows from here on hold one minute each; older rows hold an hour or a day."""
    return hour_floor(now - timedelta(hours=settings.TRAFFIC_MINUTES_HOURS))


def hours_from(now: datetime) -> datetime:
    """Rows from here (to ``minutes_from``) hold an hour each; older ones a day."""
    return day_floor(now - timedelta(days=settings.TRAFFIC_HOURS_DAYS))


def retained_from(now: datetime) -> datetime:
    """Older rows are deleted."""
    return day_floor(now - timedelta(days=settings.TRAFFIC_RETENTION_DAYS))


@dataclass(frozen=True)
class Scope:
    """Which traffic to count: a time range, and accepted values per dimension (any of them;
    no entry means every value). ``reasons`` narrows the unmatched side only: matched traffic
    stays the baseline that unmatched shares are taken of."""

    since: datetime
    until: datetime
    dimensions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    # Up to now: no row is newer, so the queries leave the upper bound out. With both bounds,
    # SQLite's planner (which has no histograms) takes a range of the minute index and sorts
    # it, several times slower over days than the covering scan it picks otherwise.
    open_ended: bool = False

    def without(self, dimension: str) -> "Scope":
        """The same scope with any value of ``dimension`` (for that dimension's facet)."""
        if dimension == "reason":
            return replace(self, reasons=())
        others = {name: values for name, values in self.dimensions.items() if name != dimension}
        return replace(self, dimensions=others)

    def accepts(self, values: dict[str, str]) -> bool:
        if any(values[name] not in accepted for name, accepted in self.dimensions.items()):
            return False
        reason = values["reason"]
        return reason == MATCHED or not self.reasons or reason in self.reasons

    def rows(self) -> QuerySet[TrafficCount]:
        rows = TrafficCount.objects.filter(minute__gte=self.since)
        if not self.open_ended:
            rows = rows.filter(minute__lt=self.until)
        for name, accepted in self.dimensions.items():
            rows = rows.filter(**{f"{name}__in": accepted})
        if self.reasons:
            rows = rows.filter(Q(reason=MATCHED) | Q(reason__in=self.reasons))
        return rows.order_by()

    def unmatched_rows(self) -> QuerySet[TrafficCount]:
        return self.rows().filter(reason__gt=MATCHED)  # a range of the group index


def step_for(since: datetime, until: datetime, now: datetime) -> int:
    """Seconds per chart point: no finer than the stored rows of the range, at most
    MAX_POINTS points."""
    if since >= minutes_from(now):
        finest = 60
    elif since >= hours_from(now):
        finest = 3600
    else:
        finest = 86400
    span = (until - since).total_seconds()
    for step in STEPS:
        if step >= finest and span / step <= MAX_POINTS:
            return step
    return STEPS[-1]


def bucket_of(moment: datetime, step: int) -> int:
    """Index of the step-long bucket (aligned on the Unix epoch, UTC) that holds ``moment``."""
    return int(moment.timestamp()) // step


@dataclass
class Timeline:
    """Matched and unmatched events per bucket of ``step`` seconds, from ``first``."""

    step: int
    first: int  # bucket index
    matched: list[int]
    unmatched: list[int]

    @property
    def shares(self) -> list[float | None]:
        """The unmatched share of each bucket, None where nothing arrived."""
        return [
            (u / (m + u)) if m + u else None
            for m, u in zip(self.matched, self.unmatched, strict=True)
        ]


def bucket_starts(scope: Scope, step: int) -> list[int]:
    """The start (Unix seconds) of each bucket of ``step`` seconds in the scope."""
    first, size = empty_buckets(scope, step)
    return [(first + i) * step for i in range(size)]


def empty_buckets(scope: Scope, step: int) -> tuple[int, int]:
    first = bucket_of(scope.since, step)
    last = bucket_of(scope.until - timedelta(microseconds=1), step)
    return first, last - first + 1


def _rows_with_times(rows: QuerySet) -> list[tuple]:
    """The rows of a ``values_list`` query of ``minute``, other values and a sum: the minute in
    Unix seconds, the sum as an int (PostgreSQL sums bigints as numeric). Django would build an
    aware datetime for each row through Python-level converters (on SQLite, from text): for
    thousands of rows that took longer than the query itself."""
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(_seconds(minute), *rest, int(total)) for minute, *rest, total in cursor.fetchall()]


@functools.lru_cache(maxsize=4096)
def _seconds(minute: datetime | str) -> int:
    if isinstance(minute, str):  # SQLite keeps UTC date-times as text
        minute = datetime.fromisoformat(minute).replace(tzinfo=UTC)
    return int(minute.timestamp())


def timeline(scope: Scope, step: int) -> Timeline:
    first, size = empty_buckets(scope, step)
    series = Timeline(step, first, [0] * size, [0] * size)
    rows = scope.rows().values("minute", "reason").annotate(total=Sum("count"))
    for seconds, reason, total in _rows_with_times(rows.values_list("minute", "reason", "total")):
        index = seconds // step - first
        if reason == MATCHED:
            series.matched[index] += total
        else:
            series.unmatched[index] += total
    return series


@dataclass
class Facet:
    """Matched and unmatched counts of one dimension's values."""

    dimension: str
    counts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def items(self) -> list[tuple[str, int, int]]:
        """(value, matched, unmatched), the most unmatched first."""
        return sorted(
            ((value, m, u) for value, (m, u) in self.counts.items()),
            key=lambda item: (-item[2], -item[1], item[0]),
        )


@dataclass
class Breakdown:
    matched: int
    unmatched: int
    facets: dict[str, Facet]

    @property
    def total(self) -> int:
        return self.matched + self.unmatched

    @property
    def score(self) -> float | None:
        """The data-quality score: the share of events that matched (None without events)."""
        return self.matched / self.total if self.total else None


def breakdown(scope: Scope) -> Breakdown:
    """Totals of the scope, and for each dimension its values' counts under every other
    filter (so that a facet shows the alternatives to the value chosen in it), from one
    query over the time range."""
    dimensions = list(DIMENSIONS)
    everything = replace(scope, dimensions={}, reasons=())
    cube = (
        everything.rows()
        .values(*dimensions)
        .annotate(total=Sum("count"))
        .values_list(*dimensions, "total")
    )
    facets = {name: Facet(name) for name in dimensions}
    facet_scopes = {name: scope.without(name) for name in dimensions}
    matched = unmatched = 0
    for *values, total in cube:
        row = dict(zip(dimensions, values, strict=True))
        side = 0 if row["reason"] == MATCHED else 1
        if scope.accepts(row):
            if side == 0:
                matched += total
            else:
                unmatched += total
        for name in dimensions:
            if (side == 1 or name != "reason") and facet_scopes[name].accepts(row):
                facets[name].counts[row[name]][side] += total
    return Breakdown(matched, unmatched, facets)


def group_totals(scope: Scope) -> dict[GroupKey, int]:
    """Unmatched events per group in the scope."""
    rows = scope.unmatched_rows().values("event_name", "reason", "field").annotate(n=Sum("count"))
    return {(e, r, f): n for e, r, f, n in rows.values_list("event_name", "reason", "field", "n")}


def group_trends(scope: Scope, keys: Sequence[GroupKey], step: int) -> dict[GroupKey, list[int]]:
    """Each group's unmatched events per bucket of ``step`` seconds."""
    first, size = empty_buckets(scope, step)
    trends = {key: [0] * size for key in keys}
    if not keys:
        return trends
    wanted = Q()
    for event_name, reason, path in keys:
        wanted |= Q(event_name=event_name, reason=reason, field=path)
    rows = (
        scope.unmatched_rows()
        .filter(wanted)
        .values("minute", "event_name", "reason", "field")
        .annotate(n=Sum("count"))
        .values_list("minute", "event_name", "reason", "field", "n")
    )
    for seconds, event_name, reason, path, total in _rows_with_times(rows):
        trends[(event_name, reason, path)][seconds // step - first] += total
    return trends


def counts_by(scope: Scope, *fields: str, unmatched: bool = False) -> list[tuple]:
    """(values of ``fields``..., events), the most events first."""
    rows = scope.unmatched_rows() if unmatched else scope.rows()
    grouped = rows.values(*fields).annotate(n=Sum("count")).values_list(*fields, "n")
    return sorted(grouped, key=lambda row: (-row[-1], *row[:-1]))


def group_scope(scope: Scope, key: GroupKey) -> Scope:
    """The traffic of one unmatched group within ``scope``'s time range and dimensions."""
    event_name, reason, path = key
    dimensions = {**scope.dimensions, "event_name": (event_name,), "field": (path,)}
    return replace(scope, dimensions=dimensions, reasons=(reason,))
