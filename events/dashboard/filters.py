"""The dashboard's filters, read from and written to the URL so that any view can be shared."""

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from django.http import QueryDict
from django.utils.dateparse import parse_datetime

from .traffic import DIMENSIONS, Scope

RANGES = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
DEFAULT_RANGE = "24h"
SORTS = {"events": "most events in the period", "open": "most still unmatched", "recent": "newest"}
MAX_VALUES = 50  # per dimension
MAX_VALUE_LENGTH = 500
MAX_SEARCH_LENGTH = 200


class InvalidFilter(ValueError):
    """A filter in the URL cannot be used; the message names it and says why."""


@dataclass(frozen=True)
class Filters:
    range: str  # a key of RANGES, or "custom"
    since: datetime
    until: datetime
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)  # URL parameter -> values
    search: str = ""
    sort: str = "events"
    resolved: bool = False  # also list groups whose events all matched by replays since

    def scope(self) -> Scope:
        dimensions = {
            name: self.values[param]
            for name, param in DIMENSIONS.items()
            if name != "reason" and self.values.get(param)
        }
        reasons = self.values.get("reason", ())
        return Scope(self.since, self.until, dimensions, reasons, open_ended=self.range != "custom")

    def params(self) -> list[tuple[str, str]]:
        """The URL parameters of these filters (defaults left out)."""
        params: list[tuple[str, str]] = []
        if self.range == "custom":
            params += [("since", self.since.isoformat()), ("until", self.until.isoformat())]
        elif self.range != DEFAULT_RANGE:
            params.append(("range", self.range))
        for param in DIMENSIONS.values():
            params += [(param, value) for value in self.values.get(param, ())]
        if self.search:
            params.append(("q", self.search))
        if self.sort != "events":
            params.append(("sort", self.sort))
        if self.resolved:
            params.append(("resolved", "1"))
        return params

    def query(self, **changes) -> str:
        """``?...`` of these filters with ``changes`` (Filters fields) applied ("" for none)."""
        query = QueryDict(mutable=True)
        for key, value in replace(self, **changes).params():
            query.appendlist(key, value)
        return f"?{query.urlencode()}" if query else ""

    def toggled(self, param: str, value: str) -> str:
        """The query with ``value`` of ``param`` added, or removed when it is there."""
        current = self.values.get(param, ())
        chosen = tuple(v for v in current if v != value) if value in current else (*current, value)
        return self.query(values={**self.values, param: chosen})

    def aligned(self, step: int) -> "Filters":
        """A preset range starting at a chart bucket's start, so that its first bucket is whole
        (custom ranges stay as given)."""
        if self.range == "custom":
            return self
        start = int(self.since.timestamp()) // step * step
        return replace(self, since=datetime.fromtimestamp(start, tz=UTC))

    @property
    def active(self) -> list[tuple[str, str, str]]:
        """(parameter, value, query without it) of every dimension value chosen."""
        return [
            (param, value, self.toggled(param, value))
            for param in DIMENSIONS.values()
            for value in self.values.get(param, ())
        ]


def parse(query: QueryDict, now: datetime) -> Filters:
    """The filters of a request, or InvalidFilter naming what is wrong."""
    values = {}
    for param in DIMENSIONS.values():
        chosen = [value for value in query.getlist(param) if value != ""]
        if len(chosen) > MAX_VALUES:
            raise InvalidFilter(f"{param}: at most {MAX_VALUES} values can be chosen.")
        if any(len(value) > MAX_VALUE_LENGTH for value in chosen):
            raise InvalidFilter(f"{param}: a value is longer than {MAX_VALUE_LENGTH} characters.")
        if chosen:
            values[param] = tuple(dict.fromkeys(chosen))
    search = query.get("q", "").strip()
    if len(search) > MAX_SEARCH_LENGTH:
        raise InvalidFilter(f"q: the search is longer than {MAX_SEARCH_LENGTH} characters.")
    sort = query.get("sort") or "events"
    if sort not in SORTS:
        raise InvalidFilter(f"sort: {sort!r} is not one of {', '.join(SORTS)}.")
    range_key, since, until = _time_range(query, now)
    return Filters(range_key, since, until, values, search, sort, query.get("resolved") == "1")


def _time_range(query: QueryDict, now: datetime) -> tuple[str, datetime, datetime]:
    if query.get("since") or query.get("until"):
        since = _moment(query, "since", now - RANGES[DEFAULT_RANGE])
        until = _moment(query, "until", now)
        if since >= until:
            raise InvalidFilter("since: it must be before until.")
        if until - since > RANGES["30d"] * 12:
            raise InvalidFilter("since: a range can span a year at most.")
        return "custom", since, until
    key = query.get("range") or DEFAULT_RANGE
    if key not in RANGES:
        raise InvalidFilter(f"range: {key!r} is not one of {', '.join(RANGES)}.")
    return key, now - RANGES[key], now


def _moment(query: QueryDict, param: str, default: datetime) -> datetime:
    text = query.get(param)
    if not text:
        return default
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidFilter(f"{param}: {text!r} is not an ISO-8601 date-time.")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # the dashboard shows UTC
