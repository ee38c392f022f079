"""Bad requests get a clear 4xx naming the problem, and nothing reaches Kafka."""

import gzip
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from events.models import ClientAPIKey
from tests.conftest import make_event, post_json, read_topic

GOOD = make_event()


def raw_post(api: APIClient, body: bytes, content_type="application/json", **headers):
    return api.generic("POST", "/api/v1/events", body, content_type, **headers)


BAD_REQUESTS = [
    pytest.param(
        lambda api: raw_post(api, b'{"event": "a",'),
        400,
        "parse_error",
        "Malformed JSON",
        id="malformed-json",
    ),
    pytest.param(
        lambda api: raw_post(api, b"\xff\xfe{}"),
        400,
        "parse_error",
        "Malformed JSON",
        id="not-utf8",
    ),
    pytest.param(
        lambda api: raw_post(api, b"event=a", "application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type",
        "Unsupported media type",
        id="form-encoded",
    ),
    pytest.param(
        lambda api: raw_post(api, b"<event/>", "application/xml"),
        415,
        "unsupported_media_type",
        "application/xml",
        id="xml",
    ),
    pytest.param(
        lambda api: raw_post(api, b"{}", HTTP_CONTENT_ENCODING="br"),
        415,
        "unsupported_media_type",
        "Content-Encoding 'br'",
        id="brotli",
    ),
    pytest.param(
        lambda api: raw_post(api, b"not gzip", HTTP_CONTENT_ENCODING="gzip"),
        400,
        "parse_error",
        "not valid gzip",
        id="bad-gzip",
    ),
    pytest.param(
        lambda api: raw_post(api, gzip.compress(b"[" * 10)[:-4], HTTP_CONTENT_ENCODING="gzip"),
        400,
        "parse_error",
        "not valid gzip",
        id="truncated-gzip",
    ),
    pytest.param(
        lambda api: raw_post(api, b" " * 2_000_000),
        413,
        "payload_too_large",
        "exceeds",
        id="body-too-large",
    ),
    pytest.param(
        lambda api: raw_post(api, gzip.compress(b" " * 3_000_000), HTTP_CONTENT_ENCODING="gzip"),
        413,
        "payload_too_large",
        "Decompressed",
        id="gzip-bomb",
    ),
    pytest.param(
        lambda api: post_json(api, [GOOD] * 11),
        413,
        "payload_too_large",
        "at most 10",
        id="batch-too-long",
    ),
    pytest.param(lambda api: post_json(api, []), 400, "parse_error", "empty", id="empty-batch"),
    pytest.param(
        lambda api: post_json(api, "checkout"),
        400,
        "parse_error",
        "JSON object",
        id="scalar-body",
    ),
    pytest.param(
        lambda api: api.generic("POST", "/api/v1/events", b"", "application/json"),
        400,
        "parse_error",
        "body is empty",
        id="empty-body",
    ),
]


@pytest.mark.parametrize(("send", "status", "code", "message"), BAD_REQUESTS)
def test_bad_request_is_refused_with_its_reason(
    api, raw_topic, settings, send, status, code, message
):
    settings.COLLECTOR_MAX_BODY_BYTES = 1_000_000
    settings.COLLECTOR_MAX_BATCH_SIZE = 10

    response = send(api)

    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert message in body["detail"]
    assert read_topic(raw_topic) == []


@pytest.mark.parametrize(
    ("event", "field", "message"),
    [
        (make_event(event=""), "event", "matching regex"),
        (make_event(event="9lives"), "event", "matching regex"),
        (make_event(timestamp="2026-11-25T10:00:00"), "timestamp", "timezone"),
        (make_event(timestamp=1764064800), "timestamp", "Expected `datetime`"),
        (make_event(platform=""), "platform", "length >= 1"),
        (make_event(app_version=None), "app_version", "got `null`"),
        (make_event(properties="x"), "properties", "Expected `object`"),
        (make_event(contract_version=0), "contract_version", ">= 1"),
        (make_event(contract_version="2"), "contract_version", "got `str`"),
        (make_event(client_id="x" * 129), "client_id", "length <= 128"),
    ],
)
def test_invalid_single_event_is_a_400_naming_the_field(api, raw_topic, event, field, message):
    response = post_json(api, event)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["index"] == 0 and error["field"] == field and error["code"] == "invalid"
    assert message in error["message"]
    assert read_topic(raw_topic) == []


def test_event_over_the_size_limit_is_refused_but_the_batch_is_not(api, read_events, settings):
    settings.COLLECTOR_MAX_EVENT_BYTES = 2_000
    small, big = make_event(), make_event(properties={"blob": "x" * 3_000})

    response = post_json(api, [big, small])

    assert response.status_code == 202
    assert response.json()["errors"][0]["code"] == "too_large"
    assert [event["properties"] for event in read_events()] == [small["properties"]]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer abc", "Api-Key", "Api-Key nonsense", "Api-Key abcdefgh.wrongsecret"],
)
def test_missing_or_unknown_key_is_a_401(db, raw_topic, authorization):
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = post_json(client, GOOD, **headers)

    assert response.status_code == 401
    assert response.json()["code"] in {"not_authenticated", "authentication_failed"}
    assert response["WWW-Authenticate"] == "Api-Key"
    assert read_topic(raw_topic) == []


def test_revoked_and_expired_keys_are_refused(client_app, raw_topic):
    revoked, revoked_key = ClientAPIKey.objects.create_key(name="old", app=client_app)
    revoked.revoked = True
    revoked.save()
    expired_key = ClientAPIKey.objects.create_key(
        name="expired", app=client_app, expiry_date=timezone.now() - timedelta(minutes=1)
    )[1]

    for key in (revoked_key, expired_key):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        assert post_json(client, GOOD).status_code == 401
    assert read_topic(raw_topic) == []


def test_a_key_of_one_app_cannot_be_mixed_with_another(api, client_app, read_events):
    response = post_json(api, make_event(client_app="someone-else"))

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "client_app"
    assert read_events() == []


def test_other_methods_are_refused(api, raw_topic):
    assert api.get("/api/v1/events").status_code == 405
    assert api.put("/api/v1/events", {}, format="json").status_code == 405


def test_verified_keys_are_remembered_for_the_configured_time(
    client_app, raw_topic, settings, django_assert_num_queries
):
    settings.COLLECTOR_KEY_CACHE_SECONDS = 60
    _, key = ClientAPIKey.objects.create_key(name="cached", app=client_app)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert post_json(client, GOOD).status_code == 202

    with django_assert_num_queries(0):
        assert post_json(client, GOOD).status_code == 202


def test_without_key_cache_revocation_is_immediate(client_app, raw_topic, settings):
    settings.COLLECTOR_KEY_CACHE_SECONDS = 0
    api_key, key = ClientAPIKey.objects.create_key(name="revoke-me", app=client_app)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert post_json(client, GOOD).status_code == 202

    api_key.revoked = True
    api_key.save()

    assert post_json(client, GOOD).status_code == 401
