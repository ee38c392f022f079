"""Publishing through a real Celery worker to the built-in registry over HTTP, and to Kafka."""

import json
import socket

import pytest
from confluent_kafka.admin import AdminClient
from django.test import Client
from django.urls import reverse

from analytics_site.kafka import client_config
from schemas_admin.lookup import matchable_versions
from schemas_admin.models import ContractChange, ContractVersion, SubjectConfig, SubjectVersion
from schemas_admin.tasks import push_version
from tests.contracts_fixtures import ORDER_ID, TOTAL, record, wait_for_publish

pytest_plugins = ["tests.contracts_fixtures"]
pytestmark = pytest.mark.django_db(transaction=True)

COUPON = {"name": "coupon", "type": ["null", "string"], "doc": "Code used.", "default": None}


def matchable(contract) -> list:
    return list(matchable_versions().filter(contract=contract))


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def draft(client: Client, contract, schema: dict):
    add = reverse("admin:schemas_admin_contractversion_add")
    response = client.post(add, {"contract": contract.pk, "schema": json.dumps(schema)})
    assert response.status_code == 302
    return contract.versions.order_by("-version").first()


def post_step(client: Client, version, step: str) -> None:
    url = reverse(f"admin:schemas_admin_contractversion_{step}", args=[version.pk])
    assert client.post(url).status_code == 302


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_publish_registers_sets_compatibility_and_creates_the_topic(
    registry_url, worker, pm, contract
) -> None:
    contract.compatibility = "FULL"
    contract.save()
    client = admin_client(pm)
    v1 = draft(client, contract, record(ORDER_ID))
    post_step(client, v1, "publish")
    v1 = wait_for_publish(v1)
    assert (v1.status, v1.publish_state, v1.publish_error) == ("published", "done", "")

    row = SubjectVersion.objects.get(subject=contract.registry_subject)
    assert (row.version, row.schema_id) == (1, v1.registry_schema_id)
    assert SubjectConfig.objects.get(subject=contract.registry_subject).compatibility == "FULL"
    topics = AdminClient(client_config()).list_topics(timeout=30).topics
    assert contract.output_topic in topics
    assert matchable(contract) == [v1]

    v2 = draft(client, contract, record(ORDER_ID, TOTAL))
    post_step(client, v2, "publish")
    v2 = wait_for_publish(v2)
    assert [v.version for v in matchable(contract)] == [2, 1]

    # Publishing again is harmless: same id, no new subject version.
    post_step(client, v1, "retry")
    assert wait_for_publish(v1).registry_schema_id == row.schema_id
    assert SubjectVersion.objects.filter(subject=contract.registry_subject).count() == 2
    actions = list(ContractChange.objects.filter(version=v1).values_list("action", flat=True))
    assert actions.count("registered") == 2 and "published" in actions


def test_failures_show_in_the_admin_and_can_be_retried(
    registry_url, worker, settings, pm, contract
) -> None:
    settings.SCHEMA_REGISTRY_URL = f"http://127.0.0.1:{closed_port()}"
    settings.CONTRACTS_PUBLISH_MAX_RETRIES = 1
    settings.CONTRACTS_PUBLISH_RETRY_SECONDS = 0.1
    client = admin_client(pm)
    version = draft(client, contract, record(ORDER_ID))
    post_step(client, version, "publish")
    version = wait_for_publish(version)
    assert version.publish_state == "failed" and version.publish_error
    assert not matchable(contract)
    change = reverse("admin:schemas_admin_contractversion_change", args=[version.pk])
    page = client.get(change).content.decode()
    assert "Retry publishing" in page and "failed (can be retried)" in page

    settings.SCHEMA_REGISTRY_URL = ""
    post_step(client, version, "retry")
    version.refresh_from_db()
    assert version.publish_state in ("pending", "done")
    assert wait_for_publish(version).publish_state == "done"
    assert matchable(contract) == [version]


def test_versions_reach_the_registry_in_their_own_order(registry_url, worker, contract) -> None:
    schemas = [record(ORDER_ID), record(ORDER_ID, TOTAL), record(ORDER_ID, TOTAL, COUPON)]
    versions = [
        ContractVersion.objects.create(
            contract=contract,
            version=number,
            schema=schema,
            status="published",
            registry_subject=contract.registry_subject,
            publish_state="pending",
        )
        for number, schema in enumerate(schemas, start=1)
    ]
    # The newest version's task runs first, as it may with several workers or an import.
    for version in reversed(versions):
        push_version.delay(version.pk)

    for version in versions:
        assert wait_for_publish(version).publish_state == "done", version.publish_error
    rows = SubjectVersion.objects.filter(subject=contract.registry_subject).order_by("version")
    assert [(row.version, row.schema_id) for row in rows] == [
        (v.version, v.registry_schema_id) for v in versions
    ]
    assert len({v.registry_schema_id for v in versions}) == 3
