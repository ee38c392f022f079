"""Sample payloads of unmatched groups as JSON Lines or CSV, streamed."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from events.models import UnmatchedSample

from .filters import Filters
from .traffic import DIMENSIONS, GroupKey

EVENT_FIELDS = ("client_app", "platform", "app_version")  # dimensions read from the raw event
FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
CSV_COLUMNS = [
    "event_name",
    "reason",
    "field",
    "seen_at",
    "event_id",
    "client_app",
    "platform",
    "app_version",
    "message",
    "expected",
    "actual",
    "source_topic",
    "source_partition",
    "source_offset",
    "raw_truncated",
    "raw",
]
# Spreadsheets run cells that start with these as formulas (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def samples_of(
    keys: Iterable[GroupKey], since: datetime | None = None, until: datetime | None = None
) -> QuerySet:
    """The kept samples of these groups (seen in the time range, when given), by group."""
    wanted = Q()
    for event_name, reason, path in keys:
        wanted |= Q(group__event_name=event_name, group__reason=reason, group__field=path)
    if not wanted:
        return UnmatchedSample.objects.none()
    samples = UnmatchedSample.objects.filter(wanted).select_related("group")
    if since is not None and until is not None:
        samples = samples.filter(seen_at__gte=since, seen_at__lt=until)
    return samples.order_by("group_id", "-id")


def selected(samples: QuerySet, filters: Filters) -> Iterator[tuple[UnmatchedSample, Any]]:
    """The samples (with their parsed event) that the filters' dimensions and search accept."""
    wanted = {
        name: filters.values[param]
        for name, param in DIMENSIONS.items()
        if name in EVENT_FIELDS and filters.values.get(param)
    }
    search = filters.search.lower()
    for sample in samples.iterator(chunk_size=500):
        event = parsed_event(sample.raw)
        if any(event_value(event, name) not in accepted for name, accepted in wanted.items()):
            continue
        if search and search not in sample.raw.lower() and not _group_mentions(sample, search):
            continue
        yield sample, event


def _group_mentions(sample: UnmatchedSample, search: str) -> bool:
    group = sample.group
    return any(search in text.lower() for text in (group.event_name, group.field))


def parsed_event(raw: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def event_value(event: Any, name: str) -> str:
    value = event.get(name) if isinstance(event, dict) else None
    return value if isinstance(value, str) else ""


def json_lines(rows: Iterable[tuple[UnmatchedSample, Any]]) -> Iterator[str]:
    for sample, event in rows:
        record = {
            "group": {
                "event_name": sample.group.event_name,
                "reason": sample.group.reason,
                "field": sample.group.field,
            },
            "seen_at": sample.seen_at.isoformat(),
            "event_id": sample.event_id,
            "reason": sample.detail,
            "source": {
                "topic": sample.source_topic,
                "partition": sample.source_partition,
                "offset": sample.source_offset,
            },
            "raw_truncated": sample.raw_truncated,
        }
        yield _with_event(record, event, sample.raw) + "\n"


def _with_event(record: dict, event: Any, raw: str) -> str:
    """The record with its parsed event, or with the raw text when it is not JSON (or nested
    too deep to be written back)."""
    if event is not None:
        try:
            return json.dumps({**record, "event": event}, ensure_ascii=False)
        except RecursionError:
            pass
    return json.dumps({**record, "raw": raw}, ensure_ascii=False)


def csv_lines(rows: Iterable[tuple[UnmatchedSample, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        writer.writerow([_safe_cell(value) for value in values])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(CSV_COLUMNS)
    for sample, event in rows:
        detail = sample.detail if isinstance(sample.detail, dict) else {}
        yield line(
            [
                sample.group.event_name,
                sample.group.reason,
                sample.group.field,
                sample.seen_at.isoformat(),
                sample.event_id,
                event_value(event, "client_app"),
                event_value(event, "platform"),
                event_value(event, "app_version"),
                detail.get("message", ""),
                detail.get("expected", ""),
                detail.get("actual", ""),
                sample.source_topic,
                sample.source_partition,
                sample.source_offset,
                sample.raw_truncated,
                sample.raw,
            ]
        )


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value
