"""Kafka client configuration and topic administration."""

import itertools
import logging
import time
from collections.abc import Callable, Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic, TopicMetadata
from django.conf import settings

logger = logging.getLogger(__name__)

# librdkafka does not flag a moving group or transaction coordinator as retriable.
COORDINATOR_MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
}


def client_config(**overrides: object) -> dict[str, object]:
    """librdkafka settings shared by every client: bootstrap servers plus SASL/SSL passthrough."""
    return {**settings.KAFKA_CLIENT_CONFIG, **overrides}


def platform_topics() -> list[str]:
    return [settings.KAFKA_RAW_TOPIC, settings.KAFKA_UNMATCHED_TOPIC]


def broker_reachable(timeout: float) -> bool:
    """True when the cluster answers a metadata request; logs nothing while it does not."""
    try:
        AdminClient(client_config(log_level=0)).list_topics(timeout=timeout)
    except KafkaException:
        return False
    return True


def create_topics(names: Iterable[str], timeout: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AdminClient(client_config())
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [
        NewTopic(
            name,
            num_partitions=settings.KAFKA_TOPIC_PARTITIONS,
            replication_factor=settings.KAFKA_TOPIC_REPLICATION_FACTOR,
        )
        for name in names
        if name not in existing
    ]
    if not missing:
        return []
    created = []
    for name, future in admin.create_topics(missing, request_timeout=timeout).items():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":  # a concurrent creator won
                raise
        created.append(name)
    _wait_for_leaders(admin, created, timeout)
    return created


def _wait_for_leaders(admin: AdminClient, names: list[str], timeout: float) -> None:
    """Return once every partition of the new topics has a leader, so they can be used at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        topics = admin.list_topics(timeout=timeout).topics
        if all(_has_leaders(topics.get(name)) for name in names):
            return
        time.sleep(0.1)


def _has_leaders(topic: TopicMetadata | None) -> bool:
    return (
        topic is not None
        and topic.error is None
        and all(p.leader >= 0 and p.error is None for p in topic.partitions.values())
    )


def retriable(error: KafkaError) -> bool:
    """Whether asking again may succeed."""
    return error.retriable() or error.code() in COORDINATOR_MOVING


def retrying(operation: Callable[[], None], attempts: int | None = None) -> None:
    """Run a broker operation, again while it fails with a retriable error (at most
    ``attempts`` times in all, when given)."""
    for attempt in itertools.count(1):
        try:
            operation()
            return
        except KafkaException as exc:
            if not retriable(exc.args[0]) or attempt == attempts:
                raise
            logger.info("retrying: %s", exc.args[0])
            time.sleep(0.1)
