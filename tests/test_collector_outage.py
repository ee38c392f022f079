"""When Kafka is down the collector answers 503 and claims nothing; acknowledged events survive."""

import threading
import time

import msgspec
import pytest

from tests.conftest import make_event, post_json, read_topic

pytestmark = pytest.mark.broker_restart


def test_broker_down_gives_503_and_nothing_acknowledged_is_lost(
    api, client, raw_topic, kafka_broker
):
    acknowledged: list[str] = []
    refused = 0
    outage_over = threading.Event()

    def outage() -> None:
        kafka_broker.stop()
        time.sleep(4)
        kafka_broker.start()
        outage_over.set()

    post_json(api, make_event())  # warm up the producer's connection
    stopper = threading.Thread(target=outage)
    deadline = time.monotonic() + 120
    sent = 0
    while time.monotonic() < deadline:
        if sent == 20:
            stopper.start()
        response = post_json(api, make_event(properties={"n": sent}))
        sent += 1
        if response.status_code == 202:
            acknowledged.append(response.json()["events"][0]["event_id"])
        else:
            assert response.status_code == 503, response.content
            assert int(response["Retry-After"]) > 0
            body = response.json()
            assert body["code"] == "broker_unavailable" and "events" not in body
            refused += 1
        if outage_over.is_set() and len(acknowledged) >= 40:
            break
    stopper.join()

    assert refused > 0, "the outage should have refused some requests"
    stored = {msgspec.json.decode(r.value())["event_id"] for r in read_topic(raw_topic)}
    assert set(acknowledged) <= stored
    assert client.get("/readyz").status_code == 200


def test_readyz_fails_while_kafka_is_down(db, client, raw_topic, kafka_broker):
    assert client.get("/readyz").status_code == 200
    kafka_broker.stop()
    try:
        ready = client.get("/readyz")
    finally:
        kafka_broker.start()

    assert ready.status_code == 503
    assert ready.json()["checks"]["kafka"].startswith("error")
    assert ready.json()["checks"]["database"] == "ok"
    assert client.get("/readyz").status_code == 200
