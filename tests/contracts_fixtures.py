"""Fixtures and helpers for the contracts and registry tests (loaded with ``pytest_plugins``).

PYTEST_DONT_REWRITE: test modules import the helpers before pytest loads this as a plugin.
"""

import time
import uuid
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from confluent_kafka.schema_registry import SchemaRegistryClient
from django.contrib.auth.models import Group, User
from django.db import connections

from analytics_site.celery import app as celery_app
from schemas_admin.models import ContractVersion, EventContract, Team

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    # Every registry write checks a password; the default hasher makes that slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, **extra) -> User:
    return User.objects.create_user(username, password=PASSWORD, is_staff=True, **extra)


@pytest.fixture
def team(db) -> Team:
    return Team.objects.create(name="Checkout", slug="checkout")


@pytest.fixture
def pm(team) -> User:
    """A product manager in the owning team."""
    user = make_user("pm")
    team.members.add(user)
    return user


@pytest.fixture
def outsider(db) -> User:
    """Staff in no team."""
    return make_user("outsider")


@pytest.fixture
def analyst(settings, team) -> User:
    user = make_user("analyst")
    user.groups.add(Group.objects.get_or_create(name=settings.CONTRACTS_ANALYSTS_GROUP)[0])
    team.members.add(user)  # read-only all the same
    return user


@pytest.fixture
def contract(team) -> EventContract:
    return EventContract.objects.create(
        event_name="checkout_completed",
        namespace="com.acme.events",
        team=team,
        description="A customer paid for an order.",
        output_topic=f"test.checkout_completed.{uuid.uuid4().hex[:8]}",
    )


def record(*fields: dict, name: str = "CheckoutCompleted") -> dict:
    return {
        "type": "record",
        "name": name,
        "namespace": "com.acme.events",
        "doc": "A customer paid for an order.",
        "fields": list(fields),
    }


ORDER_ID = {"name": "order_id", "type": "string", "doc": "The order's id."}
TOTAL = {"name": "total", "type": "double", "doc": "Amount paid.", "default": 0.0}


@pytest.fixture
def registry_url(live_server, settings, monkeypatch) -> str:
    """The built-in registry over real HTTP; publishing goes to it."""
    # Server threads kept alive by HTTP keep-alive must not keep database sessions open too,
    # or the test database cannot be dropped at the end.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    settings.SITE_URL = live_server.url
    settings.SCHEMA_REGISTRY_URL = ""
    return f"{live_server.url}/registry"


@pytest.fixture
def registry_client(registry_url, pm) -> SchemaRegistryClient:
    """confluent-kafka's own client, as a team member."""
    return SchemaRegistryClient(
        {"url": registry_url, "basic.auth.user.info": f"{pm.username}:{PASSWORD}"}
    )


@pytest.fixture
def worker(transactional_db) -> Iterator[None]:
    """A real Celery worker on the suite's Redis broker, in this process."""
    import schemas_admin.tasks  # noqa: F401  (registers the tasks with the app)

    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=30):
        yield


def wait_for_publish(version: ContractVersion, timeout: float = 60.0) -> ContractVersion:
    """Poll until the publishing task has finished with ``version`` (done or failed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        version.refresh_from_db()
        if version.publish_state in ("done", "failed"):
            return version
        time.sleep(0.2)
    raise AssertionError(f"{version} still {version.publish_state!r}: {version.publish_error}")
