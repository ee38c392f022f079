"""Per-key rate limits, counted in the shared cache (Redis in the suite), and CORS."""

import os

import pytest
import redis
from rest_framework.test import APIClient

from events.models import ClientAPIKey
from events.throttling import parse_rate
from tests.conftest import make_event, post_json


def client_for(app, rate_limit: str) -> APIClient:
    _, key = ClientAPIKey.objects.create_key(name=rate_limit, app=app, rate_limit=rate_limit)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    client.api_key = ClientAPIKey.objects.get_from_key(key)
    return client


def test_key_over_its_rate_gets_429_with_retry_after(client_app, raw_topic):
    limited = client_for(client_app, "3/h")
    other = client_for(client_app, "3/h")

    statuses = [post_json(limited, make_event()).status_code for _ in range(3)]
    refused = post_json(limited, make_event())

    assert statuses == [202, 202, 202]
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert post_json(other, make_event()).status_code == 202


def test_default_rate_applies_to_keys_without_their_own(client_app, raw_topic, settings):
    settings.COLLECTOR_DEFAULT_RATE_LIMIT = "2/h"
    client = client_for(client_app, "")

    assert [post_json(client, make_event()).status_code for _ in range(3)] == [202, 202, 429]


def test_counts_live_in_the_shared_cache(client_app, raw_topic):
    client = client_for(client_app, "5/h")
    for _ in range(2):
        post_json(client, make_event())

    server = redis.Redis.from_url(os.environ["CACHE_URL"])
    [counter] = server.keys(f"*collector-rate:{client.api_key.pk}:3600:*")
    assert int(server.get(counter)) == 2, "every web process must see this key's count"
    assert 0 < server.ttl(counter) <= 3601


@pytest.mark.parametrize("rate", ["", "10", "x/s", "0/s", "5/fortnight", "-1/m"])
def test_bad_rates_are_refused(rate):
    with pytest.raises(ValueError, match="is not a rate"):
        parse_rate(rate)


def test_rate_units():
    assert parse_rate("50/s") == (50, 1)
    assert parse_rate("3000/min") == (3000, 60)
    assert parse_rate("7/hour") == (7, 3600)


def test_cors_preflight_allows_configured_origin_only(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example"]
    preflight = {
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization, content-type",
    }

    allowed = api.options("/api/v1/events", HTTP_ORIGIN="https://shop.example", **preflight)
    foreign = api.options("/api/v1/events", HTTP_ORIGIN="https://evil.example", **preflight)

    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "authorization" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in foreign
