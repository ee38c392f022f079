"""Client apps that send events, and the API keys they authenticate with."""

from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from .throttling import validate_rate


class ClientApp(models.Model):
    """An application (iOS app, web site, backend service) that sends analytics events."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(
        max_length=50, unique=True, help_text="Identifies the app in every event it sends."
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ClientAPIKeyManager(BaseAPIKeyManager):
    def get_usable_keys(self) -> models.QuerySet:
        return super().get_usable_keys().select_related("app")


class ClientAPIKey(AbstractAPIKey):
    """A revocable key of one client app; only its hash is stored."""

    objects = ClientAPIKeyManager()

    app = models.ForeignKey(ClientApp, on_delete=models.CASCADE, related_name="api_keys")
    rate_limit = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_rate],
        help_text=(
            "Requests allowed per key, such as '50/s' or '3000/m'. "
            "Empty uses the COLLECTOR_DEFAULT_RATE_LIMIT setting."
        ),
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "client API key"
        verbose_name_plural = "client API keys"


class UnmatchedGroup(models.Model):
    """Events that matched no contract for the same reason, counted; a few are kept as samples.

    ``event_name`` and ``field`` are ``*`` in the overflow group of a reason, which counts new
    kinds of failure once UNMATCHED_MAX_GROUPS groups exist.
    """

    event_name = models.CharField(max_length=128)
    reason = models.CharField(max_length=32)
    field = models.CharField(max_length=500, blank=True, help_text="Path of the bad field.")
    count = models.PositiveBigIntegerField(default=0)
    resolved_count = models.PositiveBigIntegerField(
        default=0, help_text="Events of the group matched by a replay since."
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    last_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_name", "reason", "field"], name="unique_unmatched_group"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.reason} {self.field}".strip()


class UnmatchedSample(models.Model):
    """One unmatched event of a group; at most UNMATCHED_SAMPLES_PER_GROUP, the newest, are kept."""

    group = models.ForeignKey(UnmatchedGroup, on_delete=models.CASCADE, related_name="samples")
    event_id = models.CharField(max_length=64, blank=True)
    seen_at = models.DateTimeField(db_index=True)
    detail = models.JSONField(help_text="The structured reason.")
    raw = models.TextField(help_text="The raw event, cut at UNMATCHED_SAMPLE_MAX_BYTES.")
    raw_truncated = models.BooleanField(default=False)
    source_topic = models.CharField(max_length=249)
    source_partition = models.IntegerField()
    source_offset = models.BigIntegerField()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.group}: {self.event_id}"


class ReplayRun(models.Model):
    """A request to match recorded unmatched events again, and its progress."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    filters = models.JSONField(
        default=dict, help_text="event_name, reason, field, since, until (ISO-8601); empty: all."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    task_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveBigIntegerField(default=0, help_text="Unmatched records to read.")
    scanned = models.PositiveBigIntegerField(default=0)
    selected = models.PositiveBigIntegerField(default=0)
    matched = models.PositiveBigIntegerField(default=0)
    still_unmatched = models.PositiveBigIntegerField(default=0)
    already_replayed = models.PositiveBigIntegerField(default=0)
    failures = models.JSONField(
        default=list,
        blank=True,
        help_text="Why events still fail: event_name, reason, field, count and a message each.",
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"replay {self.pk} ({self.status})"


class ReplayedEvent(models.Model):
    """A raw record that a replay matched: replaying it again must not produce it again."""

    source_topic = models.CharField(max_length=249)
    source_partition = models.IntegerField()
    source_offset = models.BigIntegerField()
    event_id = models.CharField(max_length=64, blank=True)
    run = models.ForeignKey(ReplayRun, null=True, on_delete=models.SET_NULL)
    replayed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_topic", "source_partition", "source_offset"],
                name="unique_replayed_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_topic}/{self.source_partition}@{self.source_offset}"


class TrafficFields(models.Model):
    """How many events of one period had the same dimensions: the fields that the matcher's
    ``TrafficCount`` rows and the dashboard's summaries of them (``events.dashboard.models``)
    share. ``reason`` is empty for matched events; for unmatched ones, ``reason`` and ``field``
    are those of the unmatched group. ``contract_version`` is 0 when no version applies.
    """

    minute = models.DateTimeField(help_text="Start of the minute (or hour, or day) counted.")
    event_name = models.CharField(max_length=128)
    contract_version = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=32, blank=True)
    field = models.CharField(max_length=500, blank=True)
    client_app = models.CharField(max_length=50, blank=True)
    platform = models.CharField(max_length=32, blank=True)
    app_version = models.CharField(max_length=64, blank=True)
    count = models.PositiveBigIntegerField()

    # What tells rows of one period apart.
    KEY_FIELDS = (
        "event_name",
        "contract_version",
        "reason",
        "field",
        "client_app",
        "platform",
        "app_version",
    )
    # The dashboard's reads are index-only scans (also on SQLite), each in the order of its
    # GROUP BY: traffic over time (all of it, or filtered by dimensions), the cube of
    # dimensions, and the unmatched groups.
    READ_ORDERS = {
        "over_time": ("minute", "reason", "count"),
        "by_minute": (
            "minute",
            "reason",
            "event_name",
            "client_app",
            "platform",
            "app_version",
            "contract_version",
            "count",
        ),
        "by_dimensions": (
            "event_name",
            "reason",
            "client_app",
            "platform",
            "app_version",
            "minute",
            "count",
        ),
        "by_group": ("reason", "event_name", "field", "minute", "count"),
    }

    class Meta:
        abstract = True


class TrafficCount(TrafficFields):
    """How many raw events the matcher saw in one minute with the same dimensions.

    The matcher appends rows per batch (several rows may share a key: readers sum ``count``);
    the dashboard's roll-up merges them, folds old minutes into hours and hours into days, and
    adds the rows of complete hours to its summaries, so the table stays bounded.
    """

    summarized = models.BooleanField(
        default=False,
        db_default=False,  # for processes that write rows without knowing the field
        help_text="Counted in the dashboard's hourly and daily summaries (set by the roll-up).",
    )

    class Meta:
        indexes = [
            *(
                models.Index(fields=list(fields), name=f"traffic_{kind}")
                for kind, fields in TrafficFields.READ_ORDERS.items()
            ),
            # Rows the summaries do not hold yet: the current hour's, and late arrivals. Narrow
            # on purpose: PostgreSQL never shrinks an index, and marking a month of rows at
            # once would leave a wide one so large that its planner would scan the table.
            models.Index(
                fields=["minute"], condition=models.Q(summarized=False), name="traffic_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.event_name} {self.reason or 'matched'}"
