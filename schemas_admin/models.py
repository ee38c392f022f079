"""Event contracts: the Avro schema every event must match, owned by a team and versioned."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Now

from events.envelope import EVENT_NAME_PATTERN


class Team(models.Model):
    """A group of people who own and edit a set of contracts."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="contract_teams", blank=True
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CompatibilityMode(models.TextChoices):
    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"


class EventContract(models.Model):
    """The contract of one event name: clients send ``event_name``; matched events go to
    ``output_topic`` as Avro."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        ARCHIVED = "archived"

    event_name = models.CharField(
        max_length=128,
        unique=True,
        validators=[RegexValidator(EVENT_NAME_PATTERN)],
        help_text="The name clients send in the event's 'event' field.",
    )
    namespace = models.CharField(
        max_length=200, help_text="Avro namespace of the record, such as 'com.acme.events'."
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="contracts")
    description = models.TextField(blank=True)
    compatibility = models.CharField(
        max_length=20, choices=CompatibilityMode.choices, default=CompatibilityMode.BACKWARD
    )
    output_topic = models.CharField(
        max_length=249, unique=True, help_text="Kafka topic the matched Avro events go to."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event_name"]

    def __str__(self) -> str:
        return self.event_name

    @property
    def registry_subject(self) -> str:
        return f"{self.output_topic}-value"


class ContractVersion(models.Model):
    """One version of a contract's Avro record schema: draft -> published -> deprecated.

    A published version is immutable; the matcher uses published versions only.
    """

    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"
        DEPRECATED = "deprecated"

    contract = models.ForeignKey(EventContract, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    schema = models.JSONField(help_text="The Avro record schema, as JSON.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    changelog = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(db_default=Now())
    published_at = models.DateTimeField(null=True, blank=True)
    registry_subject = models.CharField(max_length=300, blank=True)
    registry_schema_id = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["contract", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "version"], name="unique_contract_version")
        ]

    def __str__(self) -> str:
        return f"{self.contract.event_name} v{self.version}"
