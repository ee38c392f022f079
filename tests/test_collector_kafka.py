"""Events posted to the collector are in the raw Kafka topic, exactly as sent."""

import gzip
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
from rest_framework.test import APIClient

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
    received_at = datetime.fromisoformat(stored["received_at"])
    assert received_at.utcoffset() == timedelta(0)
    # Without sent_at the client's clock is taken as it is, in UTC.
    assert datetime.fromisoformat(stored["event_time"]) == datetime.fromisoformat(
        event["timestamp"]
    )
    assert stored["event_time"].endswith("Z")  # RFC 3339 in UTC
    assert set(stored) == {*event, "client_app", "received_at", "event_time"}
    assert record.key() == b"shop-ios:device-1"


def test_tracker_envelope_is_stored_with_a_clock_corrected_event_time(api, read_events):
    # The client's clock is two hours behind: it says it sent the event 10 s after it happened.
    context = {
        "app": {"name": "Shop", "version": "4.2.0", "build": "4201", "namespace": "com.shop"},
        "device": {"id": "d-1", "manufacturer": "Apple", "model": "iPhone16,1", "type": "ios"},
        "os": {"name": "iOS", "version": "18.1"},
        "locale": "fr-FR",
        "timezone": "Europe/Paris",
        "library": {"name": "analytics-swift", "version": "1.0.0"},
        "screen": {"width": 1179, "height": 2556, "density": 3.0},
        "campaign": {"name": "black-friday", "source": "newsletter", "medium": "email"},
        "network": {"wifi": True},  # a key of its own: kept as sent
    }
    event = make_event(
        timestamp="2026-11-25T08:00:00+00:00",
        sent_at="2026-11-25T08:00:10+00:00",
        user_id="user-42",
        anonymous_id="anon-9",
        context=context,
    )
    before = datetime.now(UTC)

    response = post_json(api, event)

    assert response.status_code == 202, response.content
    [stored] = read_events()
    assert {k: stored[k] for k in event} == event
    received_at = datetime.fromisoformat(stored["received_at"])
    assert before <= received_at <= datetime.now(UTC)
    assert datetime.fromisoformat(stored["event_time"]) == received_at - timedelta(seconds=10)


def test_a_client_event_id_is_stored_in_canonical_form(api, read_events):
    given = uuid.uuid4()
    events = [make_event(event_id=str(given).upper()), make_event(event_id=given.hex)]

    response = post_json(api, events)

    assert response.status_code == 202, response.content
    assert [e["event_id"] for e in response.json()["events"]] == [str(given)] * 2
    assert [stored["event_id"] for stored in read_events()] == [str(given)] * 2


def test_a_beacon_posts_text_plain_with_the_key_in_the_query(api_key, read_events):
    beacon = APIClient()
    body = msgspec.json.encode([make_event(properties={"n": 1})])

    response = beacon.generic(
        "POST", f"/api/v1/events?api_key={api_key}", body, "text/plain;charset=UTF-8"
    )

    assert response.status_code == 202, response.content
    assert [stored["properties"] for stored in read_events()] == [{"n": 1}]


def test_the_key_may_come_in_the_x_api_key_header(api_key, read_events):
    client = APIClient()
    body = gzip.compress(msgspec.json.encode(make_event(properties={"n": 2})))

    response = client.generic(
        "POST",
        "/api/v1/events",
        body,
        "application/json",
        HTTP_X_API_KEY=api_key,
        HTTP_CONTENT_ENCODING="gzip",
    )

    assert response.status_code == 202, response.content
    assert [stored["properties"] for stored in read_events()] == [{"n": 2}]


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
        make_event(context={"screen": {"width": "wide"}}),
        make_event(context={"note": "x" * 9000}),
        make_event(sent_at="2026-11-25T10:00:00"),
    ]

    response = post_json(api, batch)

    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 2 and body["rejected"] == 8
    assert [e["index"] for e in body["events"]] == [0, 3]
    errors = {error["index"]: error for error in body["errors"]}
    assert errors[1]["field"] == "timestamp" and errors[1]["code"] == "invalid"
    assert errors[2]["code"] == "not_an_object"
    assert errors[4]["field"] == "event_id"
    assert errors[5]["field"] == "unexpected"
    assert errors[6]["field"] == "properties"
    assert errors[7]["field"] == "context"
    assert "$.context.screen.width" in errors[7]["message"]
    assert (errors[8]["field"], errors[8]["code"]) == ("context", "invalid")
    assert "8192" in errors[8]["message"]
    assert errors[9]["field"] == "sent_at"
    assert all(error["message"] for error in body["errors"])
    stored = read_events()
    assert [event["properties"]["n"] for event in stored] == [0, 3]
    assert [event["event_id"] for event in stored] == [e["event_id"] for e in body["events"]]
