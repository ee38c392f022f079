"""The web process's producer is replaced after a fatal error, wherever librdkafka reports it."""

from confluent_kafka import KafkaError, KafkaException

from events import producer
from tests.conftest import make_event, post_json


class FailingProduce:
    """librdkafka's producer, but produce() raises the fatal error it raises when fenced."""

    def __init__(self, real) -> None:
        self.real = real

    def produce(self, *args, **kwargs) -> None:
        raise KafkaException(KafkaError(KafkaError._FATAL, "fenced", fatal=True))

    def __getattr__(self, name: str):
        return getattr(self.real, name)


def test_a_fatal_error_from_produce_gives_503_then_a_new_producer(api, read_events):
    assert post_json(api, make_event(properties={"n": 0})).status_code == 202
    broken = producer.get_producer()

    broken._producer = FailingProduce(broken._producer)
    refused = post_json(api, make_event(properties={"n": 1}))
    accepted = post_json(api, make_event(properties={"n": 2}))

    assert refused.status_code == 503
    assert refused.json()["code"] == "broker_unavailable"
    assert accepted.status_code == 202, accepted.content
    assert producer.get_producer() is not broken
    assert [event["properties"]["n"] for event in read_events()] == [0, 2]


def test_a_fatal_error_reported_in_the_background_replaces_the_producer(api, read_events):
    assert post_json(api, make_event()).status_code == 202
    broken = producer.get_producer()

    # What librdkafka's error callback receives when the idempotent producer hits a fatal error.
    broken._on_error(KafkaError(KafkaError._FATAL, "out of order sequence", fatal=True))

    assert broken.broken
    assert producer.get_producer() is not broken
    assert post_json(api, make_event()).status_code == 202
