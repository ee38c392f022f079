"""Event contracts: the Avro schema every event must match, owned by a team and versioned."""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Now

from analytics_site.naming import EVENT_NAME_PATTERN


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

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        refuse_deletion(self.versions.all())  # with the reason, which the collector drops
        return super().delete(*args, **kwargs)


def refuse_deletion(versions: Iterable["ContractVersion"]) -> None:
    """Raise ProtectedError, saying what to do instead, if any of a contract's ``versions`` is
    published or deprecated: events in Kafka carry their schema ids."""
    released = [version for version in versions if version.status != ContractVersion.Status.DRAFT]
    if released:
        names = ", ".join(f"v{version.version}" for version in released)
        raise models.ProtectedError(
            f"The contract '{released[0].contract}' has published versions ({names}), so it "
            "cannot be deleted: events were sent with them. Deprecate the versions, or archive "
            "the contract, instead.",
            set(released),
        )


def protect_released(collector, field, sub_objs, using) -> None:
    """``on_delete`` of a version's contract: drafts go with the contract, released versions
    stop the deletion (also of querysets, which do not call ``EventContract.delete``)."""
    refuse_deletion(sub_objs)
    models.CASCADE(collector, field, sub_objs, using)


class ContractVersion(models.Model):
    """One version of a contract's Avro record schema: draft -> published -> deprecated.

    A published version is immutable; the matcher uses published versions only.
    """

    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"
        DEPRECATED = "deprecated"

    class PublishState(models.TextChoices):
        NOT_REQUESTED = "", "not requested"
        PENDING = "pending", "sending to the registry"
        DONE = "done", "in the registry"
        FAILED = "failed", "failed (can be retried)"

    contract = models.ForeignKey(EventContract, on_delete=protect_released, related_name="versions")
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
    deprecated_at = models.DateTimeField(null=True, blank=True)
    publish_state = models.CharField(
        max_length=10, choices=PublishState.choices, default="", blank=True
    )
    publish_error = models.TextField(blank=True)

    class Meta:
        ordering = ["contract", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "version"], name="unique_contract_version")
        ]

    def __str__(self) -> str:
        return f"{self.contract.event_name} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = ContractVersion.objects.filter(pk=self.pk)
            old = stored.values("status", "schema", "version").first()
            if (
                old
                and old["status"] != self.Status.DRAFT
                and (old["schema"] != self.schema or old["version"] != self.version)
            ):
                raise ImmutableVersion(f"{self} is {old['status']}; its schema cannot change.")
        super().save(*args, **kwargs)


class ImmutableVersion(Exception):
    """An attempt to change the schema of a published (or deprecated) version."""


class ContractChange(models.Model):
    """One entry of a contract's history: who did what, and when."""

    contract = models.ForeignKey(EventContract, on_delete=models.CASCADE, related_name="changes")
    version = models.ForeignKey(
        ContractVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=40)
    details = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.contract} {self.action}"


# The built-in Confluent-compatible registry's store.


class RegistrySchema(models.Model):
    """A schema with its registry-wide id: the same text and references get the same id under
    every subject, as in Confluent's registry."""

    schema_type = models.CharField(max_length=20, default="AVRO")
    schema = models.TextField()
    references = models.JSONField(default=list, blank=True)
    fingerprint = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"schema {self.pk}"


class SubjectVersion(models.Model):
    """A schema registered under a subject, as version ``version``; soft-deleted rows stay."""

    subject = models.CharField(max_length=300)
    version = models.PositiveIntegerField()
    schema = models.ForeignKey(RegistrySchema, on_delete=models.PROTECT, related_name="versions")
    deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["subject", "version"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "version"], name="unique_subject_version")
        ]

    def __str__(self) -> str:
        return f"{self.subject} v{self.version}"


class SubjectConfig(models.Model):
    """A subject's compatibility level; the row with an empty subject is the global one."""

    subject = models.CharField(max_length=300, unique=True, blank=True)
    compatibility = models.CharField(max_length=20, choices=CompatibilityMode.choices)

    def __str__(self) -> str:
        return f"{self.subject or '(global)'}: {self.compatibility}"
