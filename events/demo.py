"""Demo data for ``make run``: a team, a few published contracts and a burst of events.

The burst holds events that match the demo contracts and events that do not (a wrong type in
one release, a contract version that does not exist, an event without a contract), spread over
the last hours, so that a new user finds a populated dashboard at once.
"""

import random
from datetime import datetime, timedelta

import msgspec
from confluent_kafka import Producer
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from analytics_site.kafka import client_config
from schemas_admin import publishing
from schemas_admin.avro import record_name
from schemas_admin.models import ContractVersion, EventContract, Team
from schemas_admin.registry.local import LocalRegistry

from .collector import collect
from .models import ClientApp

NAMESPACE = "com.example.demo"
APPS = {  # slug -> (name, platform, app versions)
    "demo-ios": ("Demo iOS", "ios", ["3.1.0", "3.2.0"]),
    "demo-android": ("Demo Android", "android", ["3.1.0", "3.2.0"]),
    "demo-web": ("Demo web", "web", ["2026.11.2"]),
}
SCREEN = {"name": "screen", "type": "string", "doc": "The screen the app opened on."}
REFERRER = {
    "name": "referrer",
    "type": ["null", "string"],
    "default": None,
    "doc": "What sent the user here, if known.",
}
ITEM = {
    "type": "record",
    "name": "Item",
    "fields": [
        {"name": "sku", "type": "string", "doc": "Stock keeping unit."},
        {"name": "qty", "type": "int", "doc": "How many were bought."},
    ],
}
CONTRACTS = {
    "app_opened": ("The app came to the foreground.", [SCREEN, REFERRER]),
    "checkout_completed": (
        "A customer paid for an order.",
        [
            {"name": "order_id", "type": "string", "doc": "The order's id."},
            {"name": "total", "type": "double", "doc": "Amount paid."},
            {
                "name": "currency",
                "type": {"type": "enum", "name": "Currency", "symbols": ["EUR", "USD", "GBP"]},
                "doc": "ISO 4217 code of the amount.",
            },
            {"name": "items", "type": {"type": "array", "items": ITEM}, "doc": "What was bought."},
        ],
    ),
    "signed_up": (
        "A visitor created an account.",
        [
            {
                "name": "plan",
                "type": {"type": "enum", "name": "Plan", "symbols": ["FREE", "PRO"]},
                "doc": "The plan chosen at sign-up.",
            }
        ],
    ),
}
CURL_EVENT = {"event": "app_opened", "platform": "web", "app_version": "1.0.0"}
CURL_PROPERTIES = {"screen": "home"}


def schema_of(event_name: str) -> dict:
    description, fields = CONTRACTS[event_name]
    return {
        "type": "record",
        "name": record_name(event_name),
        "namespace": NAMESPACE,
        "doc": description,
        "fields": fields,
    }


def team_of(admin: AbstractBaseUser) -> Team:
    team, _ = Team.objects.get_or_create(slug="demo", defaults={"name": "Demo team"})
    team.members.add(admin)
    return team


def publish_contracts(team: Team, admin: AbstractBaseUser) -> list[EventContract]:
    """The demo contracts, each with a published first version in the registry. Publishing
    goes through the admin's own checks; the push to the built-in registry happens in this
    process, since the web server that serves it is not up yet."""
    contracts = []
    for event_name, (description, _) in CONTRACTS.items():
        contract, created = EventContract.objects.get_or_create(
            event_name=event_name,
            defaults={
                "namespace": NAMESPACE,
                "team": team,
                "description": description,
                "output_topic": f"demo.{event_name}",
            },
        )
        version = contract.versions.filter(version=1).first()
        if created or version is None:
            version = ContractVersion.objects.create(
                contract=contract, version=1, schema=schema_of(event_name), author=admin
            )
            publishing.publish(version, admin, send=lambda version: None)
        if version.status != ContractVersion.Status.DRAFT and version.registry_schema_id is None:
            version.refresh_from_db()
            external = bool(settings.SCHEMA_REGISTRY_URL)
            publishing.push(version, None if external else LocalRegistry())
        contracts.append(contract)
    return contracts


def apps() -> dict[str, ClientApp]:
    found = {}
    for slug, (name, _, _) in APPS.items():
        found[slug], _ = ClientApp.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": "Demo data of make run."}
        )
    return found


def burst_events(rng: random.Random) -> list[tuple[str, dict, timedelta]]:
    """(client app slug, event, how long ago it arrived), matched and unmatched ones."""
    events = []

    def add(count: int, name: str, properties, *, apps=tuple(APPS), version=None, **extra):
        for _ in range(count):
            slug = rng.choice(apps)
            _, platform, versions = APPS[slug]
            event = {
                "event": name,
                "platform": platform,
                "app_version": version or rng.choice(versions),
                "client_id": f"device-{rng.randint(1, 400)}",
                "properties": properties() if callable(properties) else properties,
                **extra,
            }
            ago = timedelta(minutes=rng.triangular(0, 180, 20))
            events.append((slug, event, ago))

    def order(qty=None, total=None):
        return lambda: {
            "order_id": f"A-{rng.randint(1000, 9999)}",
            "total": total if total is not None else round(rng.uniform(5, 200), 2),
            "currency": rng.choice(["EUR", "USD"]),
            "items": [{"sku": f"sku-{rng.randint(1, 50)}", "qty": qty or rng.randint(1, 3)}],
        }

    add(300, "app_opened", lambda: {"screen": rng.choice(["home", "search", "cart"])})
    add(120, "checkout_completed", order())
    add(25, "checkout_completed", order(qty="2"), apps=("demo-android",), version="3.2.0")
    add(8, "checkout_completed", order(total="19.99"), apps=("demo-web",))
    add(60, "signed_up", lambda: {"plan": rng.choice(["FREE", "PRO"])})
    add(12, "signed_up", {"plan": "FREE"}, apps=("demo-ios",), contract_version=3)
    add(30, "search_performed", lambda: {"query": rng.choice(["shoes", "hats"]), "results": 3})
    return events


def send_burst(now: datetime, seed: int = 7) -> int:
    """Produce the burst to the raw topic as the collector would have stored it; returns how
    many events were acknowledged by the broker."""
    apps()
    producer = Producer(client_config(acks="all", **{"enable.idempotence": True}))
    sent = 0
    for slug, event, ago in burst_events(random.Random(seed)):
        received = now - ago
        body = msgspec.json.encode({**event, "timestamp": received.isoformat()})
        for record in collect(body, slug, received).records:
            producer.produce(settings.KAFKA_RAW_TOPIC, record.value, record.key)
            producer.poll(0)
            sent += 1
    if producer.flush(30) != 0:
        raise RuntimeError("Kafka did not acknowledge the demo events in 30 s")
    return sent


@transaction.atomic
def set_up(admin: AbstractBaseUser) -> list[EventContract]:
    return publish_contracts(team_of(admin), admin)
