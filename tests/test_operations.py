"""Health checks, metrics, API docs, admin key management and the set-up commands."""

import io
import re

import pytest
from confluent_kafka.admin import AdminClient
from django.core.management import call_command
from rest_framework.test import APIClient

from analytics_site.kafka import client_config
from events.models import ClientAPIKey, ClientApp
from tests.conftest import make_event, post_json


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_database_kafka_and_raw_topic(db, client, raw_topic, settings):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.content
    assert ready.json()["checks"] == {"database": "ok", "kafka": "ok"}

    settings.KAFKA_RAW_TOPIC = "no.such.topic"
    missing = client.get("/readyz")
    assert missing.status_code == 503
    assert "no.such.topic" in missing.json()["checks"]["kafka"]


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_metrics_count_accepted_and_rejected_events(api, client, raw_topic):
    before = client.get("/metrics").content.decode()

    post_json(api, [make_event(), make_event(timestamp="soon"), make_event()])
    api.generic("POST", "/api/v1/events", b"{", "application/json")

    after = client.get("/metrics").content.decode()
    assert after.startswith("# HELP") and "collector_produce_latency_seconds_bucket" in after
    delta = lambda name: metric(after, name) - metric(before, name)  # noqa: E731
    assert delta("collector_events_accepted_total") == 2
    assert delta('collector_events_rejected_total{reason="invalid"}') == 1
    assert delta('collector_requests_rejected_total{reason="parse_error"}') == 1
    assert delta("collector_produce_latency_seconds_count") == 1


def test_openapi_schema_documents_the_collector(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    operation = response.json()["paths"]["/api/v1/events"]["post"]
    envelope = operation["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert {"event", "timestamp", "platform", "app_version", "properties"} <= set(
        envelope["required"]
    )
    assert {"202", "400", "401", "413", "415", "429", "503"} <= set(operation["responses"])
    assert operation["requestBody"]["required"] is True
    assert {"application/json", "text/plain"} <= set(operation["requestBody"]["content"])
    assert operation["security"] == [{"ClientApiKey": []}]
    document = response.json()
    scheme = document["components"]["securitySchemes"]["ClientApiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-Api-Key")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content


def test_openapi_document_is_valid_openapi(db):
    # drf-spectacular validates against the OpenAPI 3.0 meta-schema; warnings fail too.
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=io.StringIO())


def test_admin_creates_a_key_and_shows_it_once(admin_client, client_app, raw_topic):
    response = admin_client.post(
        "/admin/events/clientapikey/add/",
        {"name": "android", "app": client_app.pk, "rate_limit": "50/s"},
        follow=True,
    )

    messages = " ".join(str(m) for m in response.context["messages"])
    key = re.search(r"The API key for android \(Shop iOS\) is <code>(\S+)</code>", messages)[1]
    stored = ClientAPIKey.objects.get(name="android")
    assert key not in stored.hashed_key and stored.app == client_app
    assert (
        post_json(APIClient(), make_event(), HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 202
    )


def test_admin_refuses_a_malformed_rate(admin_client, client_app):
    response = admin_client.post(
        "/admin/events/clientapikey/add/",
        {"name": "bad", "app": client_app.pk, "rate_limit": "lots"},
    )
    assert response.status_code == 200
    assert "is not a rate" in response.content.decode()
    assert not ClientAPIKey.objects.filter(name="bad").exists()


def test_admin_lists_apps_with_their_keys(admin_client, api_key, client_app):
    response = admin_client.get(f"/admin/events/clientapp/{client_app.pk}/change/")
    assert response.status_code == 200
    assert ClientAPIKey.objects.get(app=client_app).prefix in response.content.decode()


def test_create_topics_uses_configured_names_and_partitions(settings, capsys):
    settings.KAFKA_RAW_TOPIC = "ops.raw"
    settings.KAFKA_UNMATCHED_TOPIC = "ops.unmatched"
    settings.KAFKA_TOPIC_PARTITIONS = 4

    call_command("create_topics")
    call_command("create_topics")

    assert capsys.readouterr().out.splitlines()[-2:] == [
        "topic ops.raw: exists",
        "topic ops.unmatched: exists",
    ]
    topics = AdminClient(client_config()).list_topics(timeout=10).topics
    assert len(topics["ops.raw"].partitions) == 4
    assert len(topics["ops.unmatched"].partitions) == 4


@pytest.mark.django_db
def test_bootstrap_demo_is_repeatable_and_its_key_works(settings, tmp_path, capsys, raw_topic):
    settings.VAR_DIR = tmp_path
    call_command("bootstrap_demo")
    call_command("bootstrap_demo")

    output = capsys.readouterr().out
    keys = set(re.findall(r"Demo key:\s+(\S+)", output))
    assert len(keys) == 1 and ClientApp.objects.filter(slug="demo").count() == 1
    response = post_json(APIClient(), make_event(), HTTP_AUTHORIZATION=f"Api-Key {keys.pop()}")
    assert response.status_code == 202
    assert "curl -i -X POST" in output


def test_the_root_leads_to_the_dashboard(client):
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
