"""Publishing contract versions: the checks before, and the push to the schema registry.

The push goes through confluent-kafka's SchemaRegistryClient whether the registry is an
external one (SCHEMA_REGISTRY_URL) or the built-in one, so both paths run the same code.
"""

import json
from collections.abc import Callable
from functools import partial

from confluent_kafka import KafkaException
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

# The registry client uses httpx2 or httpx, whichever is installed; catch that one's errors.
from confluent_kafka.schema_registry.common._httpx_compat import httpx
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from analytics_site.kafka import create_topics

from . import history, versions
from .models import ContractVersion, EventContract
from .registry.auth import PUBLISHER, publisher_password
from .registry.local import LocalRegistry

Status = ContractVersion.Status
State = ContractVersion.PublishState


class PublishRefused(Exception):
    """The version cannot be published; ``problems`` say why, in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def registry_url() -> str:
    return settings.SCHEMA_REGISTRY_URL or f"{settings.SITE_URL.rstrip('/')}/registry"


def registry_client() -> SchemaRegistryClient:
    conf = {"url": registry_url()}
    user_info = settings.SCHEMA_REGISTRY_USER_INFO
    if not user_info and not settings.SCHEMA_REGISTRY_URL:
        user_info = f"{PUBLISHER}:{publisher_password()}"
    if user_info:
        conf["basic.auth.user.info"] = user_info
    return SchemaRegistryClient(conf)


def problems(version: ContractVersion) -> list[str]:
    """Everything that stops ``version`` from being published."""
    contract = version.contract
    return versions.style_problems(
        contract, version.schema, version.version
    ) or versions.compatibility_problems(contract, version.schema, version.version)


def publish(
    version: ContractVersion,
    user: AbstractBaseUser | None,
    send: Callable[[ContractVersion], None] | None = None,
) -> None:
    """Make a draft published (immutable from now on) and queue its push to the registry
    (``send`` replaces the queueing, for a push that cannot wait for a worker)."""
    with transaction.atomic():
        EventContract.objects.select_for_update().get(pk=version.contract_id)
        version.refresh_from_db()
        if version.status != Status.DRAFT:
            raise PublishRefused([f"Version {version.version} is already {version.status}."])
        found = problems(version)
        if found:
            raise PublishRefused(found)
        version.status = Status.PUBLISHED
        version.published_at = timezone.now()
        version.registry_subject = version.contract.registry_subject
        version.save()
        history.record(
            version.contract, "published", user=user, version=version, details=version.changelog
        )
        (send or enqueue)(version)


def retry(version: ContractVersion, user: AbstractBaseUser | None) -> None:
    """Push a published version to the registry again; harmless when it is already there."""
    if version.status == Status.DRAFT:
        raise PublishRefused([f"Version {version.version} is a draft: publish it first."])
    with transaction.atomic():
        history.record(version.contract, "publish retried", user=user, version=version)
        enqueue(version)


def deprecate(version: ContractVersion, user: AbstractBaseUser | None) -> None:
    if version.status != Status.PUBLISHED:
        raise PublishRefused([f"Version {version.version} is {version.status}, not published."])
    version.status = Status.DEPRECATED
    version.deprecated_at = timezone.now()
    version.save(update_fields=["status", "deprecated_at"])
    history.record(version.contract, "deprecated", user=user, version=version)


def enqueue(version: ContractVersion) -> None:
    from .tasks import push_version

    ContractVersion.objects.filter(pk=version.pk).update(
        publish_state=State.PENDING, publish_error=""
    )
    transaction.on_commit(partial(push_version.delay, version.pk))


class EarlierVersionFailed(Exception):
    """An earlier version, which must reach the registry first, could not be registered."""

    def __init__(self, earlier: ContractVersion, cause: Exception) -> None:
        super().__init__(
            f"Version {earlier.version} must reach the registry first, and failed: {cause}"
        )
        self.cause = cause


def push(
    version: ContractVersion, client: "SchemaRegistryClient | LocalRegistry | None" = None
) -> int:
    """Register ``version`` under its subject with the contract's compatibility level and
    create its output topic; return the registry's schema id.

    A subject's versions must reach the registry in their own order (registry version n is
    contract version n), whichever task runs first: earlier released versions the registry
    does not have yet are registered first. Registering one twice is harmless.
    """
    contract = version.contract
    client = client or registry_client()
    client.set_compatibility(version.registry_subject, contract.compatibility)
    earlier = contract.versions.filter(
        status__in=versions.RELEASED, version__lt=version.version, registry_schema_id=None
    ).order_by("version")
    for pending in earlier:
        try:
            register(client, pending, f" (before version {version.version})")
        except Exception as exc:
            raise EarlierVersionFailed(pending, exc) from exc
    schema_id = register(client, version)
    create_topics([contract.output_topic])
    return schema_id


def register(
    client: "SchemaRegistryClient | LocalRegistry", version: ContractVersion, why: str = ""
) -> int:
    schema_id = client.register_schema(
        version.registry_subject, Schema(json.dumps(version.schema), "AVRO")
    )
    ContractVersion.objects.filter(pk=version.pk).update(
        registry_schema_id=schema_id, publish_state=State.DONE, publish_error=""
    )
    history.record(
        version.contract,
        "registered",
        version=version,
        details=f"Schema id {schema_id} under subject {version.registry_subject}{why}.",
    )
    return schema_id


def is_transient(exc: Exception) -> bool:
    """Worth retrying: the registry or Kafka was unreachable or failed, not the request."""
    if isinstance(exc, EarlierVersionFailed):
        return is_transient(exc.cause)
    if isinstance(exc, SchemaRegistryError):
        return exc.http_status_code >= 500 or exc.http_status_code in (408, 429)
    return isinstance(exc, httpx.TransportError | KafkaException)


def record_failure(version: ContractVersion, exc: Exception, final: bool) -> None:
    state = State.FAILED if final else State.PENDING
    rows = ContractVersion.objects.filter(pk=version.pk)
    rows.update(publish_state=state, publish_error=str(exc))
    if final:
        history.record(version.contract, "publish failed", version=version, details=str(exc))
