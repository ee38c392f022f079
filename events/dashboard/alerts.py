"""Checking alert rules against the traffic counts, and notifying by email and webhook."""

import json
import logging
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .models import AlertRule
from .traffic import MATCHED, Scope, sums

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 10.0


@dataclass(frozen=True)
class Measure:
    events: int
    unmatched: int
    since: datetime
    until: datetime

    @property
    def share(self) -> float:
        return self.unmatched / self.events if self.events else 0.0


def measure(rule: AlertRule, now: datetime) -> Measure:
    """The events of the rule's window (whole minutes; whole hours once minutes are rolled up)
    and how many of them matched nothing."""
    since = now - timedelta(minutes=rule.window_minutes)
    dimensions = {"event_name": (rule.event_name,)} if rule.event_name else {}
    by_reason = sums(Scope(since, now, dimensions), ["reason"])
    events = sum(total for _, total in by_reason)
    unmatched = sum(total for reason, total in by_reason if reason != MATCHED)
    return Measure(events, unmatched, since, now)


def check_all(now: datetime | None = None) -> dict[str, int]:
    """Check every enabled rule once; returns how many were checked and notified."""
    now = now or timezone.now()
    checked = notified = 0
    for pk in AlertRule.objects.filter(enabled=True).values_list("pk", flat=True):
        with transaction.atomic():  # one beat at a time per rule: no notification twice
            rule = AlertRule.objects.select_for_update().get(pk=pk)
            notified += check(rule, now)
            checked += 1
    return {"checked": checked, "notified": notified}


def check(rule: AlertRule, now: datetime) -> bool:
    """Update the rule's state; notify when it starts or stops firing (and, while it fires,
    every ``repeat_minutes``). Returns whether it notified."""
    found = measure(rule, now)
    firing = found.events >= rule.min_events and found.share * 100 >= rule.threshold_percent
    kind = None
    if firing and rule.state == AlertRule.State.OK:
        kind = "firing"
    elif firing and rule.repeat_minutes and rule.last_notified_at is not None:
        if now - rule.last_notified_at >= timedelta(minutes=rule.repeat_minutes):
            kind = "still firing"
    elif not firing and rule.state == AlertRule.State.FIRING:
        kind = "resolved"
    rule.state = AlertRule.State.FIRING if firing else AlertRule.State.OK
    rule.last_share, rule.last_events, rule.last_checked_at = found.share, found.events, now
    if kind is not None:
        rule.last_error = notify(rule, message(rule, found, kind))
        rule.last_notified_at = now
    rule.save()
    return kind is not None


def dashboard_link(rule: AlertRule, found: Measure) -> str:
    """The dashboard filtered to the rule's event and window."""
    query = {"since": found.since.isoformat(), "until": found.until.isoformat()}
    if rule.event_name:
        query["event"] = rule.event_name
    path = reverse("dashboard:overview")
    return f"{settings.SITE_URL.rstrip('/')}{path}?{urlencode(query)}"


def message(rule: AlertRule, found: Measure, kind: str) -> str:
    what = f"events “{rule.event_name}”" if rule.event_name else "all events"
    return (
        f"[{kind}] {rule.name}: {found.share:.1%} of {what} matched no contract in the last "
        f"{rule.window_minutes} minutes ({found.unmatched:,} of {found.events:,}; alert at "
        f"{rule.threshold_percent}%). {dashboard_link(rule, found)}"
    )


def notify(rule: AlertRule, text: str) -> str:
    """Send ``text`` to the rule's addresses and webhook; return what failed ("" if nothing)."""
    problems = []
    recipients = rule.recipients()
    if recipients:
        try:
            send_mail(text.split(". ")[0], text, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception as exc:  # any mail server failure; the webhook still goes out
            logger.warning("alert %s: email failed: %s", rule.name, exc)
            problems.append(f"email: {exc}")
    if rule.webhook_url:
        try:
            post_webhook(rule.webhook_url, text)
        except Exception as exc:  # network errors, HTTP errors: recorded on the rule
            logger.warning("alert %s: webhook failed: %s", rule.name, exc)
            problems.append(f"webhook: {exc}")
    return "; ".join(problems)


def post_webhook(url: str, text: str) -> None:
    """POST ``{"text": ...}`` as JSON, as Slack's incoming webhooks (and many others) take it."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
        response.read()
