"""Helpers of the dashboard's tests: traffic counts, groups and samples made with the ORM.

PYTEST_DONT_REWRITE
"""

import json
from datetime import datetime, timedelta

from django.utils import timezone

from events.models import TrafficCount, UnmatchedGroup, UnmatchedSample


def traffic(count: int, *, ago: timedelta = timedelta(minutes=5), **dimensions) -> TrafficCount:
    minute = (timezone.now() - ago).replace(second=0, microsecond=0)
    values = {
        "event_name": "checkout_completed",
        "client_app": "shop-ios",
        "platform": "ios",
        "app_version": "4.2.0",
        **dimensions,
    }
    return TrafficCount.objects.create(minute=minute, count=count, **values)


def event(properties: dict, **envelope) -> dict:
    return {
        "event": "checkout_completed",
        "event_id": "6f9619ff-8b86-4d01-b42d-00cf4fc964ff",
        "timestamp": "2026-11-25T10:00:00+00:00",
        "platform": "ios",
        "app_version": "4.2.0",
        "client_app": "shop-ios",
        "properties": properties,
        **envelope,
    }


def group(
    event_name: str = "checkout_completed",
    reason: str = "invalid_field",
    field: str = "items[].qty",
    *,
    count: int = 10,
    resolved: int = 0,
    samples: list[dict | str] = (),
    detail: dict | None = None,
    seen: datetime | None = None,
) -> UnmatchedGroup:
    """A group with samples (events as dicts, or raw text) and matching traffic counts."""
    seen = seen or timezone.now() - timedelta(minutes=5)
    made = UnmatchedGroup.objects.create(
        event_name=event_name,
        reason=reason,
        field=field,
        count=count,
        resolved_count=resolved,
        first_seen=seen - timedelta(hours=1),
        last_seen=seen,
        last_message=f"Version 2: {field}: expected int, got string",
    )
    for offset, sample in enumerate(samples):
        raw = sample if isinstance(sample, str) else json.dumps(sample)
        UnmatchedSample.objects.create(
            group=made,
            event_id=f"event-{offset}",
            seen_at=seen,
            detail=detail
            or {
                "reason": reason,
                "message": made.last_message,
                "event_name": event_name,
                "contract_version": 2,
                "field": field.replace("[]", "[0]"),
                "group_field": field,
                "expected": "int",
                "actual": "string",
            },
            raw=raw,
            source_topic="events.raw",
            source_partition=0,
            source_offset=offset,
        )
    traffic(count, event_name=event_name, reason=reason, field=field, contract_version=2)
    return made
