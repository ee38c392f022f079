"""Unmatched groups as the dashboard lists and explains them."""

from dataclasses import dataclass, field

from django.db.models import Q

from events.matcher.unmatched import OVERFLOW
from events.models import UnmatchedGroup, UnmatchedSample
from schemas_admin.models import ContractVersion, EventContract

from .filters import Filters
from .traffic import GroupKey, Scope, group_totals

LISTED = 50  # groups on the overview, the rest is counted


@dataclass
class Listed:
    """One row of the overview's list: a group's events in the period and its database row
    (None when the group is no longer kept, or was counted in an overflow group)."""

    key: GroupKey
    events: int
    group: UnmatchedGroup | None
    trend: list[int] = field(default_factory=list)

    @property
    def sparkline(self) -> str:
        """The trend as the comma-separated numbers the page's script draws."""
        return ",".join(map(str, self.trend))

    @property
    def open(self) -> int | None:
        """Events of the group not matched by a replay since (all time)."""
        if self.group is None:
            return None
        return max(self.group.count - self.group.resolved_count, 0)


def key_of(group: UnmatchedGroup) -> GroupKey:
    return GroupKey(group.event_name, group.reason, group.field)


@dataclass
class Selection:
    rows: list[Listed]  # best first
    replayed: int  # events of these groups (resolved ones too) that replays matched since


def selected(filters: Filters, scope: Scope) -> Selection:
    """Every group with unmatched events in the scope (and the search)."""
    totals = group_totals(scope)
    groups = {key_of(g): g for g in _groups_for(totals)}
    if filters.search:
        found = set(searched(filters.search).values_list("pk", flat=True))
        totals = {k: n for k, n in totals.items() if k in groups and groups[k].pk in found}
    rows = [Listed(key, events, groups.get(key)) for key, events in totals.items()]
    replayed = sum(row.group.resolved_count for row in rows if row.group is not None)
    if not filters.resolved:  # all their events matched by replays since: off the list
        rows = [row for row in rows if row.open is None or row.open > 0]
    if filters.sort == "open":
        rows.sort(key=lambda row: (-(row.open or 0), -row.events))
    elif filters.sort == "recent":
        rows.sort(key=lambda row: (row.group is None, -_last_seen(row)))
    else:
        rows.sort(key=lambda row: (-row.events, row.key))
    return Selection(rows, replayed)


def _last_seen(row: Listed) -> float:
    return row.group.last_seen.timestamp() if row.group else 0.0


def _groups_for(totals: dict[GroupKey, int]) -> list[UnmatchedGroup]:
    names = {event_name for event_name, _, _ in totals}
    return list(UnmatchedGroup.objects.filter(event_name__in=names))


def searched(text: str):
    """Groups whose samples, event name, field or last message contain ``text``."""
    in_samples = UnmatchedSample.objects.filter(raw__icontains=text).values("group_id")
    return UnmatchedGroup.objects.filter(
        Q(pk__in=in_samples)
        | Q(event_name__icontains=text)
        | Q(field__icontains=text)
        | Q(last_message__icontains=text)
    )


@dataclass(frozen=True)
class Explanation:
    headline: str
    details: list[tuple[str, str]]  # (label, value)


def explain(group: UnmatchedGroup, detail: dict | None) -> Explanation:
    """Why the group's events failed, in plain words, from its newest sample's reason."""
    detail = detail or {}
    name, version = group.event_name, detail.get("contract_version")
    where = detail.get("field") or group.field
    details = [("Reason", group.reason)]
    if group.event_name == OVERFLOW:
        headline = (
            "Too many kinds of failure to group one by one: further ones are counted here. "
            "Raise UNMATCHED_MAX_GROUPS or fix the largest groups first."
        )
    elif group.reason == "unknown_event":
        headline = (
            f"No contract named “{name}” is published, so these events cannot be matched. "
            "Either the client misspells the event, or its contract still has to be written: "
            "draft one from the samples below."
        )
    elif group.reason == "unknown_version":
        headline = (
            f"The events declare contract version {version} of “{name}”, which is not "
            "published. Publish it, or make the client send a published version."
        )
    elif group.reason == "deprecated_version":
        headline = (
            f"The events use a deprecated version of “{name}”. Update the client to the "
            "current version."
        )
    elif group.reason == "invalid_field":
        headline = (
            f"Field “{where or 'properties'}” does not fit version {version} of the contract: "
            f"it expects {detail.get('expected') or 'another value'}, "
            f"the events carry {detail.get('actual') or 'something else'}."
        )
    elif group.reason == "malformed_json":
        headline = "These records are not events the matcher can read: " + (
            group.last_message or "malformed JSON."
        )
    elif group.reason == "too_large":
        headline = "These events are larger than MATCHER_MAX_EVENT_BYTES, so none is matched."
    else:
        headline = group.last_message
    for label, key in (("Field", "field"), ("Expected", "expected"), ("Actual", "actual")):
        if detail.get(key):
            details.append((label, str(detail[key])))
    if version is not None:
        details.append(("Contract version tried", str(version)))
    if group.last_message:
        details.append(("Matcher's message", group.last_message))
    return Explanation(headline, details)


def current_version(event_name: str) -> tuple[EventContract | None, ContractVersion | None]:
    """The contract of an event and its newest published version, if any."""
    contract = EventContract.objects.filter(event_name=event_name).first()
    if contract is None:
        return None, None
    version = (
        contract.versions.filter(status=ContractVersion.Status.PUBLISHED)
        .order_by("-version")
        .first()
    )
    return contract, version
