"""Reading the matcher's traffic counts (``events.models.TrafficCount``) for the dashboard.

A row counts the events of one minute, hour or day with the same dimensions; which one depends
on its age only (``rollup.py`` folds old minutes into hours and old hours into days, and the
tiers never overlap), so a sum over a time range never counts an event twice.

Wide views would read hundreds of thousands of those rows, so the roll-up also keeps their sums
per key and whole hour (``HourlyTraffic``, for the last day) and per key and whole day
(``DailyTraffic``), and marks the rows it added ``summarized``. Every read takes
the whole days and hours of its range from the summaries, the rows not marked yet in them (the
current hour's, late arrivals) and the rest of its range from the counts themselves: the sum is
the one the counts give, at any moment, in one SQL statement. Time series are bucketed in SQL
(from the Unix time of each row's ``minute``), so only a value per bucket reaches Python.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, F, Func, Q, Sum
from django.utils import timezone

from events.models import TrafficCount, TrafficFields

from .models import DailyTraffic, HourlyTraffic

MATCHED = ""  # the reason of matched events
# The dimensions analysts filter on: TrafficCount field -> URL parameter.
DIMENSIONS = {
    "event_name": "event",
    "reason": "reason",
    "client_app": "app",
    "platform": "platform",
    "app_version": "app_version",
}


class GroupKey(NamedTuple):
    """An unmatched group's key (a plain tuple of the three compares equal)."""

    event_name: str
    reason: str
    field: str


# Display steps, finest first; a chart has at most MAX_POINTS of them.
STEPS = (60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
MAX_POINTS = 120
HOURLY_SUMMARY = timedelta(days=1)


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


def hourly_from(now: datetime) -> datetime:
    """``HourlyTraffic`` holds every complete hour from here on: the last day, whatever
    TRAFFIC_MINUTES_HOURS says, so that changing that setting never makes a page trust hours
    the roll-up did not sum by the hour."""
    return hour_floor(now) - HOURLY_SUMMARY


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
    # Up to now: no row is newer, so the reads leave the upper bound out (and take today's rows
    # from today's summary).
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

    def condition(self) -> Q:
        """The scope's dimensions and reasons, for rows of any traffic model."""
        accepted = Q(**{f"{name}__in": values for name, values in self.dimensions.items()})
        if self.reasons:
            accepted &= Q(reason=MATCHED) | Q(reason__in=self.reasons)
        return accepted


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


Span = tuple[datetime, datetime | None]  # [start, end); None: no end
Source = tuple[type[TrafficFields], Span, bool]  # model, time span, only rows not summarized


def _whole(
    span: Span,
    floor: Callable[[datetime], datetime],
    length: timedelta,
    start_at: datetime | None = None,
) -> tuple[Span | None, list[Span]]:
    """The whole periods (``floor``, ``length``) inside ``span`` (from ``start_at`` on), or None;
    and the parts of ``span`` around them."""
    since, until = span
    first = floor(since) if floor(since) == since else floor(since) + length
    first = max(first, start_at) if start_at else first
    end = floor(until) if until is not None else None
    if end is not None and first >= end:
        return None, [span]
    around = [(since, first)] + ([(end, until)] if end is not None else [])
    return (first, end), [(a, b) for a, b in around if b is None or a < b]


def sources(
    since: datetime, until: datetime | None, now: datetime, step: int | None
) -> list[Source]:
    """Where the rows of ``[since, until)`` are read from so that each event counts once: the
    summaries for whole days (and whole hours of the last day), plus the counts
    they do not hold yet; the counts themselves for the rest. With a ``step``, only periods that
    fit in its buckets are taken whole."""
    wholes: list[tuple[type[TrafficFields], Span]] = []
    rest: list[Span] = [(since, until)]
    if step is None or step % 86400 == 0:
        days, rest = _whole(rest[0], day_floor, timedelta(days=1))
        wholes += [(DailyTraffic, days)] if days else []
    if step is None or step % 3600 == 0:
        left = []
        for span in rest:
            hours, around = _whole(span, hour_floor, timedelta(hours=1), hourly_from(now))
            wholes += [(HourlyTraffic, hours)] if hours else []
            left += around
        rest = left
    return (
        [(TrafficCount, span, False) for span in rest]
        + [(TrafficCount, span, True) for _, span in wholes]
        + [(model, span, False) for model, span in wholes]
    )


def _bucket_sql(step: int) -> str:
    """SQL of the index of a row's ``step``-long bucket, from the Unix time of its minute."""
    if connection.vendor == "sqlite":  # UTC date-times as text
        return f"CAST(strftime('%%s', \"minute\") AS INTEGER) / {int(step)}"
    return f'CAST(EXTRACT(EPOCH FROM "minute") AS BIGINT) / {int(step)}'


class OneOf(Func):
    """Rows whose ``fields`` hold one of ``keys`` (tuples in the same order). SQLite answers an
    OR of equalities with an index search per key; PostgreSQL turns that OR into a bitmap that
    reads the table, and does better joining the keys as a VALUES list on its index."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, fields: Sequence[str], keys: Sequence[tuple]) -> None:
        super().__init__(*(F(name) for name in fields))
        self.keys = [tuple(key) for key in keys]

    def _columns(self, compiler) -> list[str]:
        return [compiler.compile(column)[0] for column in self.get_source_expressions()]

    def _params(self) -> list:
        return [value for key in self.keys for value in key]

    def as_sql(self, compiler, connection, **extra) -> tuple[str, list]:
        each = " AND ".join(f"{column} = %s" for column in self._columns(compiler))
        return f"(({') OR ('.join([each] * len(self.keys))}))", self._params()

    def as_postgresql(self, compiler, connection, **extra) -> tuple[str, list]:
        columns = self._columns(compiler)
        row = f"({', '.join(['%s'] * len(columns))})"
        values = ", ".join([row] * len(self.keys))
        return f"({', '.join(columns)}) IN (VALUES {values})", self._params()


def sums(
    scope: Scope,
    columns: Sequence[str],
    *,
    step: int | None = None,
    unmatched: bool = False,
    where: Q | Func | None = None,
) -> list[tuple]:
    """(bucket index if ``step``, values of ``columns``..., events) for each distinct value in
    the scope, in one statement over the counts and their summaries. Each source but the rows
    not summarized yet is summed first, in the order of one of its covering indexes, so that
    only a few thousand sums are bucketed and added up."""
    grouped = ["minute", *columns] if step else list(columns)
    until = None if scope.open_ended else scope.until
    parts, params = [], []
    for model, (since, before), pending in sources(scope.since, until, timezone.now(), step):
        wanted = scope.condition() & Q(minute__gte=since)
        if before is not None:
            wanted &= Q(minute__lt=before)
        if pending:
            wanted &= Q(summarized=False)
        if unmatched:
            wanted &= Q(reason__gt=MATCHED)  # a range of the group index
        rows = model.objects.filter(wanted, *([where] if where is not None else [])).order_by()
        if pending:  # a few rows, found by their partial index: summed with the rest
            part = rows.annotate(n=F("count")).values_list(*grouped, "n")
        else:
            part = rows.values_list(*grouped).annotate(n=Sum("count"))
        sql, part_params = part.query.sql_with_params()
        parts.append(sql)
        params += part_params
    quote = connection.ops.quote_name
    keys = ([_bucket_sql(step)] if step else []) + [quote(name) for name in columns]
    positions = ", ".join(str(n) for n in range(1, len(keys) + 1))
    total = "CAST(SUM(n) AS BIGINT)"  # not PostgreSQL's numeric, which psycopg reads as Decimal
    sql = f"SELECT {', '.join([*keys, total])} FROM ({' UNION ALL '.join(parts)}) traffic"
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} GROUP BY {positions}", params)
        return cursor.fetchall()


def timeline(scope: Scope, step: int) -> Timeline:
    first, size = empty_buckets(scope, step)
    series = Timeline(step, first, [0] * size, [0] * size)
    for bucket, reason, total in sums(scope, ["reason"], step=step):
        if reason == MATCHED:
            series.matched[bucket - first] += total
        else:
            series.unmatched[bucket - first] += total
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
    cube = sums(replace(scope, dimensions={}, reasons=()), dimensions)
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
    rows = sums(scope, GroupKey._fields, unmatched=True)
    return {GroupKey(e, r, f): n for e, r, f, n in rows}


def group_trends(scope: Scope, keys: Sequence[GroupKey], step: int) -> dict[GroupKey, list[int]]:
    """Each group's unmatched events per bucket of ``step`` seconds."""
    first, size = empty_buckets(scope, step)
    trends = {key: [0] * size for key in keys}
    if not keys:
        return trends
    wanted = OneOf(GroupKey._fields, keys)
    for bucket, event_name, reason, path, total in sums(
        scope, GroupKey._fields, step=step, unmatched=True, where=wanted
    ):
        trends[(event_name, reason, path)][bucket - first] += total
    return trends


def counts_by(scope: Scope, *fields: str, unmatched: bool = False) -> list[tuple]:
    """(values of ``fields``..., events), the most events first."""
    grouped = sums(scope, fields, unmatched=unmatched)
    return sorted(grouped, key=lambda row: (-row[-1], *row[:-1]))


def group_scope(scope: Scope, key: GroupKey) -> Scope:
    """The traffic of one unmatched group within ``scope``'s time range and dimensions."""
    event_name, reason, path = key
    dimensions = {**scope.dimensions, "event_name": (event_name,), "field": (path,)}
    return replace(scope, dimensions=dimensions, reasons=(reason,))
