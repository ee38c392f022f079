"""Events posted to the collector are in the raw Kafka topic, exactly as sent."""

import uuid
from datetime import datetime

import msgspec

from tests.conftest import make_event, post_json, read_topic


def test_single_event_is_stored_with_its_content_and_server_fields(api, raw_topic, client_app):
    event = make_event(event_id=str(uuid.uuid4()), contract_version=3)

    response = post_json(api, event)

    assert response.status_code == 202, response.content
    assert response.json() == {
        "accepted": 1,
        "rejected": 0,
        "events": [{"index": 0, "event_id": event["event_id"]}],
        "errors": [],
    }
    [record] = read_topic(raw_topic)
    stored = msgspec.json.decode(record.value())
    assert {k: stored[k] for k in event} == event
    assert stored["client_app"] == client_app.slug
    assert datetime.fromisoformat(stored["received_at"]).tzinfo is not None
    assert set(stored) == {*event, "client_app", "received_at"}
    assert record.key() == b"shop-ios:device-1"


def test_missing_event_id_is_generated_and_returned(api, read_events):
    event = make_event()
    del event["client_id"]

    response = post_json(api, event)

    assert response.status_code == 202
    event_id = response.json()["events"][0]["event_id"]
    assert str(uuid.UUID(event_id)) == event_id
    [stored] = read_events()
    assert stored["event_id"] == event_id
    assert stored["properties"] == event["properties"]


def test_gzip_batch_keeps_one_clients_order(api, raw_topic):
    batch = [make_event(properties={"step": step}) for step in range(50)]

    response = post_json(api, batch, compress=True)

    assert response.status_code == 202
    assert response.json()["accepted"] == 50
    records = read_topic(raw_topic)
    assert len({record.partition() for record in records}) == 1
    steps = [msgspec.json.decode(r.value())["properties"]["step"] for r in records]
    assert steps == list(range(50))


def test_batch_with_invalid_items_accepts_the_valid_rest(api, read_events):
    batch = [
        make_event(properties={"n": 0}),
        make_event(timestamp="yesterday"),
        "not an event",
        make_event(properties={"n": 3}),
        make_event(event_id="not-a-uuid"),
        make_event(unexpected="field"),
        {k: v for k, v in make_event().items() if k != "properties"},
    ]

    response = post_json(api, batch)

    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 2 and body["rejected"] == 5
    assert [e["index"] for e in body["events"]] == [0, 3]
    errors = {error["index"]: error for error in body["errors"]}
    assert errors[1]["field"] == "timestamp" and errors[1]["code"] == "invalid"
    assert errors[2]["code"] == "not_an_object"
    assert errors[4]["field"] == "event_id"
    assert errors[5]["field"] == "unexpected"
    assert errors[6]["field"] == "properties"
    assert all(error["message"] for error in body["errors"])
    stored = read_events()
    assert [event["properties"]["n"] for event in stored] == [0, 3]
    assert [event["event_id"] for event in stored] == [e["event_id"] for e in body["events"]]
