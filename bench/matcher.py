"""Matcher benchmark: raw events/s through the matcher next to a transactional passthrough.

Run ``.venv/bin/python bench/matcher.py``. It starts its own Kafka broker and a SQLite database
in a temporary folder, publishes four contracts, fills the raw topic with a realistic mix of
events (5% of them bad: invalid fields or unknown events), then measures on the same broker and
records, one after the other:

1. passthrough: the matcher's consume-produce loop (same batches, same Kafka transactions with
   the consumer offsets) copying each record unchanged, with overlapped commits (a batch's
   transaction commits while the next batch is read) and with serial ones
   (MATCHER_OVERLAP_COMMITS=false): the faster of the two is the round's ceiling;
2. matcher: the same loop matching each record to Avro or to the unmatched topic, recording the
   unmatched ones in the database, with overlapped commits (the default: the next batch is
   matched while the previous one commits) and with serial ones.

After uncounted passes that warm the broker (and the matcher) up, each runs ``--rounds`` times,
alternating. It prints each round's events/s and each matcher mode's ratio to the round's
ceiling, and the median ratios (the aim: 0.7 or better).
"""

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devservices.kafka import KafkaBroker  # noqa: E402

AIM_RATIO = 0.7
WARM_UP_PASSES = 3
BAD_SHARE = 0.05
PARTITIONS = 6

CONTRACTS = {
    "checkout_completed": {
        "type": "record",
        "name": "CheckoutCompleted",
        "fields": [
            {"name": "order_id", "type": {"type": "string", "logicalType": "uuid"}},
            {
                "name": "total",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
            },
            {
                "name": "currency",
                "type": {"type": "enum", "name": "Currency", "symbols": ["EUR", "USD"]},
            },
            {"name": "coupon", "type": ["null", "string"], "default": None},
            {
                "name": "items",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "Item",
                        "fields": [
                            {"name": "sku", "type": "string"},
                            {"name": "qty", "type": "int"},
                            {"name": "price", "type": "double"},
                        ],
                    },
                },
            },
            {"name": "paid_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        ],
    },
    "page_viewed": {
        "type": "record",
        "name": "PageViewed",
        "fields": [
            {"name": "url", "type": "string"},
            {"name": "referrer", "type": ["null", "string"], "default": None},
            {"name": "duration_ms", "type": "long"},
            {"name": "utm", "type": {"type": "map", "values": "string"}, "default": {}},
        ],
    },
    "signed_up": {
        "type": "record",
        "name": "SignedUp",
        "fields": [
            {"name": "user_id", "type": {"type": "string", "logicalType": "uuid"}},
            {"name": "plan", "type": {"type": "enum", "name": "Plan", "symbols": ["FREE", "PRO"]}},
            {
                "name": "birthday",
                "type": ["null", {"type": "int", "logicalType": "date"}],
                "default": None,
            },
            {"name": "newsletter", "type": "boolean", "default": False},
        ],
    },
    "search_performed": {
        "type": "record",
        "name": "SearchPerformed",
        "fields": [
            {"name": "query", "type": "string"},
            {"name": "results", "type": "int"},
            {"name": "filters", "type": {"type": "array", "items": "string"}, "default": []},
        ],
    },
}


def properties(event: str, rng: random.Random) -> dict:
    if event == "checkout_completed":
        return {
            "order_id": str(uuid.uuid4()),
            "total": f"{rng.randint(100, 99999) / 100:.2f}",
            "currency": rng.choice(["EUR", "USD"]),
            "items": [
                {"sku": f"sku-{rng.randint(1, 500)}", "qty": rng.randint(1, 4), "price": 9.99}
                for _ in range(rng.randint(1, 4))
            ],
            "paid_at": "2026-11-25T10:00:00.123+01:00",
        }
    if event == "page_viewed":
        return {
            "url": f"https://shop.example/p/{rng.randint(1, 9999)}",
            "referrer": rng.choice([None, "https://search.example/"]),
            "duration_ms": rng.randint(10, 60000),
            "utm": {"source": "newsletter", "campaign": "winter"},
        }
    if event == "signed_up":
        return {"user_id": str(uuid.uuid4()), "plan": "FREE", "birthday": "1990-05-17"}
    return {"query": "red shoes", "results": rng.randint(0, 200), "filters": ["size:42"]}


def raw_events(count: int, seed: int = 7) -> list[tuple[bytes, bytes]]:
    import msgspec

    rng = random.Random(seed)
    names = list(CONTRACTS)
    records = []
    for index in range(count):
        name = rng.choices(names, weights=[2, 5, 1, 2])[0]
        event = {
            "event": name,
            "timestamp": "2026-11-25T10:00:00.123+01:00",
            "platform": "ios",
            "app_version": "4.2.0",
            "client_id": f"device-{index % 1000}",
            "properties": properties(name, rng),
            "event_id": str(uuid.uuid4()),
            "received_at": "2026-11-25T09:00:01.000+00:00",
            "client_app": "shop-ios",
        }
        if rng.random() < BAD_SHARE:
            if rng.random() < 0.5:
                event["event"] = "unknown_event"
            else:
                event["properties"] = {**event["properties"], "surprise": 1}
        records.append((f"shop-ios:{event['client_id']}".encode(), msgspec.json.encode(event)))
    return records


def setup_django(workdir: Path, bootstrap: str) -> None:
    os.environ.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "KAFKA_RAW_TOPIC": "bench.raw",
            "KAFKA_UNMATCHED_TOPIC": "bench.unmatched",
            "KAFKA_TOPIC_PARTITIONS": str(PARTITIONS),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "analytics_site.settings",
            "SECRET_KEY": secrets.token_urlsafe(50),  # a throwaway deployment's own key
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def publish_contracts() -> None:
    from schemas_admin.models import ContractVersion, EventContract, Team

    team = Team.objects.create(name="Shop", slug="shop")
    for schema_id, (name, schema) in enumerate(CONTRACTS.items(), start=1):
        contract = EventContract.objects.create(
            event_name=name, namespace="com.shop", team=team, output_topic=f"bench.avro.{name}"
        )
        ContractVersion.objects.create(
            contract=contract,
            version=1,
            schema=schema,
            status="published",
            registry_schema_id=schema_id,
        )


def fill_raw_topic(records: list[tuple[bytes, bytes]]) -> None:
    from confluent_kafka import Producer
    from django.conf import settings

    from analytics_site.kafka import client_config, create_topics

    create_topics([settings.KAFKA_RAW_TOPIC, settings.KAFKA_UNMATCHED_TOPIC, "bench.passthrough"])
    create_topics(f"bench.avro.{name}" for name in CONTRACTS)
    producer = Producer(client_config(**{"linger.ms": 20, "enable.idempotence": True}))
    for key, value in records:
        while True:
            try:
                producer.produce(settings.KAFKA_RAW_TOPIC, value, key)
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0


class Passthrough:
    """The loop's ceiling: each raw record copied unchanged, in the same transactions."""

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass

    def process(self, messages):
        from events.matcher.transactional import Batch, Output

        return Batch([Output("bench.passthrough", m.key(), m.value()) for m in messages])


def measure(processor, name: str, expected: int, overlap: bool = True) -> float:
    """Events/s from the first batch handed to ``processor`` to the commit of the last one."""
    from django.test import override_settings

    from events.matcher.loop import matcher_loop
    from events.matcher.transactional import Batch

    seen = {"count": 0, "first": 0.0, "last": 0.0}

    class Timed:
        """``processor``, counting the records of each committed batch."""

        def tick(self) -> None:
            processor.tick()

        def close(self) -> None:
            processor.close()

        def process(self, messages) -> Batch:
            if not seen["first"]:
                seen["first"] = time.perf_counter()
            batch = processor.process(messages)

            def on_commit() -> None:
                batch.on_commit()
                seen["count"] += len(messages)
                seen["last"] = time.perf_counter()

            return Batch(batch.outputs, on_commit)

    run = f"bench-{name}-{uuid.uuid4().hex[:6]}"
    with override_settings(MATCHER_CONSUMER_GROUP=run, MATCHER_OVERLAP_COMMITS=overlap):
        loop = matcher_loop(run, Timed())
    loop.run(should_stop=lambda: seen["count"] >= expected)
    return seen["count"] / (seen["last"] - seen["first"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=4)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-matcher-") as tmp:
        workdir = Path(tmp)
        broker = KafkaBroker(workdir / "kafka")
        broker.start()
        try:
            setup_django(workdir, broker.bootstrap_servers)
            publish_contracts()
            fill_raw_topic(raw_events(options.events))

            from django.conf import settings

            from events.matcher.processor import MatchProcessor
            from events.models import UnmatchedGroup

            print(
                f"{options.events} raw events, {BAD_SHARE:.0%} bad, {len(CONTRACTS)} contracts, "
                f"{PARTITIONS} partitions, batches of {settings.MATCHER_BATCH_SIZE}"
            )
            # The broker's JVM speeds up over its first passes (its commits get faster, so the
            # passthrough's rate rose round after round); these warm-up passes do not count.
            for _ in range(WARM_UP_PASSES):
                measure(Passthrough(), "warm-up", options.events)
            measure(MatchProcessor(), "warm-up-matcher", options.events)
            # Rounds alternate, so that each matcher pass has a ceiling measured next to it: on a
            # shared machine the rates drift by a factor of two within minutes.
            modes = {"overlapped": True, "serial": False}
            ratios: dict[str, list[float]] = {mode: [] for mode in modes}
            print(
                f"{'round':>5} {'passthrough overlapped / serial':>32} "
                f"{'matcher overlapped (ratio) / serial (ratio)':>44}"
            )
            for number in range(1, options.rounds + 1):
                passthrough = {
                    mode: measure(Passthrough(), f"passthrough-{mode}", options.events, overlap)
                    for mode, overlap in modes.items()
                }
                ceiling = max(passthrough.values())
                matcher = {
                    mode: measure(MatchProcessor(), f"matcher-{mode}", options.events, overlap)
                    for mode, overlap in modes.items()
                }
                for mode, rate in matcher.items():
                    ratios[mode].append(rate / ceiling)
                overlapped, serial = ratios["overlapped"][-1], ratios["serial"][-1]
                print(
                    f"{number:>5} {passthrough['overlapped']:>21,.0f} /"
                    f" {passthrough['serial']:>8,.0f} {matcher['overlapped']:>20,.0f}"
                    f" ({overlapped:.2f}) / {matcher['serial']:>8,.0f} ({serial:.2f})"
                )
            for mode in modes:
                ratio = statistics.median(ratios[mode])
                verdict = "meets" if ratio >= AIM_RATIO else "misses"
                print(f"median ratio, {mode} commits: {ratio:.2f} ({verdict} the aim, {AIM_RATIO})")
            unmatched = sum(UnmatchedGroup.objects.values_list("count", flat=True))
            print(f"unmatched recorded in the database: {unmatched} over {options.rounds} rounds")
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
