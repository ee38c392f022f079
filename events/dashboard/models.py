"""Alert rules on the unmatched share of traffic, checked by Celery beat."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
    URLValidator,
    validate_email,
)
from django.db import models

from events.envelope import EVENT_NAME_PATTERN
from events.models import TrafficFields


class AlertRule(models.Model):
    """Notify when the unmatched share of an event (or of all traffic) reaches a threshold."""

    class State(models.TextChoices):
        OK = "ok"
        FIRING = "firing"

    name = models.CharField(max_length=100, unique=True)
    event_name = models.CharField(
        max_length=128,
        blank=True,
        validators=[RegexValidator(EVENT_NAME_PATTERN)],
        help_text="Watch this event only; empty watches all traffic.",
    )
    threshold_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0.01), MaxValueValidator(100)],
        help_text="Alert when at least this share (%) of the events fails to match.",
    )
    window_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)],
        help_text="The share is taken over the events received in this many last minutes.",
    )
    min_events = models.PositiveIntegerField(
        default=100, help_text="Stay quiet while fewer events than this arrived in the window."
    )
    emails = models.TextField(
        blank=True, help_text="Addresses to notify, separated by commas or new lines."
    )
    webhook_url = models.URLField(
        blank=True,
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text='A Slack-compatible incoming webhook: it receives {"text": ...} as JSON.',
    )
    repeat_minutes = models.PositiveIntegerField(
        default=0, help_text="While firing, remind this often (0: only when it starts and ends)."
    )
    enabled = models.BooleanField(default=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OK)
    last_share = models.FloatField(null=True, blank=True)
    last_events = models.PositiveBigIntegerField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="Why the last notification failed.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def recipients(self) -> list[str]:
        return [address for address in re.split(r"[\s,;]+", self.emails) if address]

    def clean(self) -> None:
        for address in self.recipients():
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError({"emails": f"{address!r} is not an email address."}) from None
        if not self.recipients() and not self.webhook_url:
            raise ValidationError("Give email addresses, a webhook, or both: someone must hear it.")


class TrafficSummary(TrafficFields):
    """The matcher's traffic counts summed per key over a whole period (``minute`` is its
    start), kept by the roll-up so that wide views read a row per key and period instead of a
    row per key and minute or hour. A ``TrafficCount`` row is in the summaries once the roll-up
    has marked it ``summarized``; readers add the rows not marked yet (see ``traffic.py``)."""

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["minute", *TrafficFields.KEY_FIELDS], name="%(class)s_key"
            )
        ]
        indexes = [
            models.Index(fields=list(fields), name=f"%(class)s_{kind}")
            for kind, fields in TrafficFields.READ_ORDERS.items()
        ]


class HourlyTraffic(TrafficSummary):
    """The complete hours of the last day (where the counts are per minute, or hour)."""

    class Meta(TrafficSummary.Meta):
        verbose_name_plural = "hourly traffic"


class DailyTraffic(TrafficSummary):
    """Every day with summarized rows, within TRAFFIC_RETENTION_DAYS."""

    class Meta(TrafficSummary.Meta):
        verbose_name_plural = "daily traffic"
