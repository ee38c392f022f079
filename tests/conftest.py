import gzip
import uuid
from collections.abc import Callable

import msgspec
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from rest_framework.test import APIClient

from analytics_site.kafka import create_topics
from devservices.kafka import KafkaBroker
from events import producer
from events.models import ClientAPIKey, ClientApp
from tests.services import broker_key


@pytest.fixture(scope="session", autouse=True)
def _web_producer_released():
    """Drop the web process's producer before the suite stops Kafka, so that librdkafka does not
    spend the shutdown logging that the broker is gone."""
    yield
    if producer._producer is not None:
        producer._producer.close()
        producer._producer = None


@pytest.fixture
def kafka_broker(request: pytest.FixtureRequest) -> KafkaBroker:
    broker = request.config.stash[broker_key]
    if broker is None:
        pytest.skip("the suite runs against an external Kafka (KAFKA_BOOTSTRAP_SERVERS)")
    return broker


@pytest.fixture
def raw_topic(settings) -> str:
    """A fresh raw topic for this test, so that what it reads back is only its own."""
    name = f"test.raw.{uuid.uuid4().hex[:12]}"
    settings.KAFKA_RAW_TOPIC = name
    settings.KAFKA_TOPIC_PARTITIONS = 3
    create_topics([name])
    return name


@pytest.fixture
def client_app(db) -> ClientApp:
    return ClientApp.objects.create(name="Shop iOS", slug="shop-ios")


@pytest.fixture
def api_key(client_app) -> str:
    _, key = ClientAPIKey.objects.create_key(name="test", app=client_app, rate_limit="10000/s")
    return key


@pytest.fixture
def api(api_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    return client


def make_event(**overrides) -> dict:
    event = {
        "event": "checkout_completed",
        "timestamp": "2026-11-25T10:00:00.123+01:00",
        "platform": "ios",
        "app_version": "4.2.0",
        "client_id": "device-1",
        "properties": {"order_id": "A-1", "total": 42.5, "items": [{"sku": "x", "qty": 2}]},
    }
    event.update(overrides)
    return event


def post_json(api: APIClient, body, *, compress: bool = False, **headers):
    data = msgspec.json.encode(body)
    if compress:
        data = gzip.compress(data)
        headers["HTTP_CONTENT_ENCODING"] = "gzip"
    return api.generic("POST", "/api/v1/events", data, "application/json", **headers)


def read_topic(topic: str, timeout: float = 30.0) -> list:
    """Every committed record now in ``topic``, read to each partition's end.

    It stops at the end the broker reports rather than at the high watermark: in topics written
    by transactions, commit markers take offsets that no record has.
    """
    from django.conf import settings

    consumer = Consumer(
        {
            **settings.KAFKA_CLIENT_CONFIG,
            "group.id": f"test-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        records, remaining = [], set(partitions)
        while remaining:
            message = consumer.poll(timeout)
            assert message is not None, f"timed out reading {topic}; partitions {remaining} left"
            error = message.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                remaining.discard(message.partition())
                continue
            assert error is None, error
            records.append(message)
        return records
    finally:
        consumer.close()


@pytest.fixture
def read_events(raw_topic) -> Callable[[], list[dict]]:
    def read() -> list[dict]:
        return [msgspec.json.decode(m.value()) for m in read_topic(raw_topic)]

    return read
