"""Per-minute counts of matched and unmatched events by dimension (``TrafficCount`` rows).

Each batch counts its events in memory (a dictionary increment per event); committed batches'
counts are added up in a ``TrafficRecorder`` and written every UNMATCHED_RECORD_SECONDS as a few
appended rows, never a query per event. Like the unmatched groups, these are statistics for the
dashboard written after the Kafka transactions commit: a killed matcher may lose the counts of
its last seconds, never double them.
"""

import logging
from collections import Counter
from datetime import UTC, datetime

from django.conf import settings

from events.envelope import StoredEvent
from events.models import TrafficCount
from events.storable import storable

logger = logging.getLogger(__name__)

OVERFLOW = "*"

# minute ("YYYY-MM-DDTHH:MM", UTC), event, contract version, reason, field, client app,
# platform, app version
TrafficKey = tuple[str, str, int, str, str, str, str, str]

_LIMITS = {field.name: field.max_length for field in TrafficCount._meta.fields if field.max_length}


def minute(received_at: object, fallback: str) -> str:
    """The UTC minute of a ``received_at`` text, or ``fallback`` when there is none."""
    if isinstance(received_at, str):
        if received_at.endswith(("+00:00", "Z")) and len(received_at) >= 16:
            return received_at[:16]  # the collector writes UTC: no parsing needed
        try:
            return datetime.fromisoformat(received_at).astimezone(UTC).isoformat()[:16]
        except ValueError:
            pass
    return fallback


def key(
    event: StoredEvent | None,
    fallback_minute: str,
    event_name: str | None,
    version: int | None,
    reason: str = "",
    field: str = "",
) -> TrafficKey:
    if event is None:
        return (fallback_minute, event_name or "", version or 0, reason, field, "", "", "")
    return (
        minute(event.received_at, fallback_minute),
        event_name or "",
        version or 0,
        reason,
        field,
        event.client_app or "",
        event.platform or "",
        event.app_version or "",
    )


class TrafficRecorder:
    """Adds up committed batches' counts and appends them as rows on ``flush()``.

    At most TRAFFIC_MAX_KEYS distinct keys wait for a flush; further new keys are counted under
    one overflow key per minute and reason, so a flood of made-up names or versions stays
    bounded in memory and in the table.
    """

    def __init__(self) -> None:
        self.pending: Counter[TrafficKey] = Counter()

    def add(self, counts: Counter[TrafficKey]) -> None:
        pending = self.pending
        room = settings.TRAFFIC_MAX_KEYS - len(pending)
        for traffic_key, count in counts.items():
            if traffic_key not in pending:
                if room <= 0:
                    traffic_key = _overflow(traffic_key)
                else:
                    room -= 1
            pending[traffic_key] += count

    def flush(self) -> None:
        """Append what is pending; on failure it stays pending for the next flush."""
        if not self.pending:
            return
        TrafficCount.objects.bulk_create(
            [_row(traffic_key, count) for traffic_key, count in self.pending.items()],
            batch_size=500,
        )
        self.pending = Counter()


def _overflow(traffic_key: TrafficKey) -> TrafficKey:
    when, _, _, reason, _, _, _, _ = traffic_key
    return (when, OVERFLOW, 0, reason, OVERFLOW if reason else "", OVERFLOW, OVERFLOW, OVERFLOW)


def _row(traffic_key: TrafficKey, count: int) -> TrafficCount:
    when, event_name, version, reason, field, client_app, platform, app_version = traffic_key
    try:
        start = datetime.fromisoformat(when).replace(tzinfo=UTC, second=0, microsecond=0)
    except ValueError:  # a received_at the collector did not write: count it now
        start = datetime.now(UTC).replace(second=0, microsecond=0)
    return TrafficCount(
        minute=start,
        event_name=storable(event_name[: _LIMITS["event_name"]]),
        contract_version=version,
        reason=reason,
        field=storable(field[: _LIMITS["field"]]),
        client_app=storable(client_app[: _LIMITS["client_app"]]),
        platform=storable(platform[: _LIMITS["platform"]]),
        app_version=storable(app_version[: _LIMITS["app_version"]]),
        count=count,
    )
