"""Kafka client configuration and topic administration."""

from collections.abc import Iterable

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings


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
    return created
