"""Helpers of the matcher's tests: contracts made with the ORM, Kafka in and out, matchers."""

import itertools
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import msgspec
from confluent_kafka import (
    Consumer,
    KafkaException,
    Producer,
    TopicPartition,
)
from django.conf import settings

from analytics_site.kafka import retriable
from devservices._process import wait_until
from events.envelope import ENVELOPE_HEADER, decode_header
from events.matcher.loop import matcher_loop
from schemas_admin.models import ContractVersion, EventContract, Team
from tests.conftest import make_event, read_topic

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_schema_ids = itertools.count(1000)

CHECKOUT_V1 = {
    "type": "record",
    "name": "CheckoutCompleted",
    "namespace": "com.shop.events",
    "fields": [
        {"name": "order_id", "type": "string"},
        {"name": "total", "type": "double"},
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
                    ],
                },
            },
        },
    ],
}

CHECKOUT_V2 = {
    **CHECKOUT_V1,
    "fields": [
        *CHECKOUT_V1["fields"],
        {"name": "coupon", "type": ["null", "string"], "default": None},
        {"name": "paid_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}


def make_contract(
    event_name: str,
    *versions: dict,
    statuses: tuple[str, ...] = (),
    output_topic: str | None = None,
) -> EventContract:
    """A contract whose versions 1..n have the given schemas (published unless ``statuses``
    says otherwise), each with a made-up registry schema id."""
    team, _ = Team.objects.get_or_create(slug="shop", defaults={"name": "Shop"})
    contract = EventContract.objects.create(
        event_name=event_name,
        namespace="com.shop.events",
        team=team,
        output_topic=output_topic or f"test.avro.{event_name}.{uuid.uuid4().hex[:8]}",
    )
    for number, schema in enumerate(versions, start=1):
        add_version(contract, number, schema, statuses[number - 1] if statuses else "published")
    return contract


def add_version(
    contract: EventContract, number: int, schema: dict, status: str = "published"
) -> ContractVersion:
    return ContractVersion.objects.create(
        contract=contract,
        version=number,
        schema=schema,
        status=status,
        registry_subject=contract.registry_subject,
        registry_schema_id=next(_schema_ids),
    )


@dataclass
class MatcherSetup:
    """Topics, consumer group and settings of one test's matchers."""

    raw_topic: str
    unmatched_topic: str
    group: str
    env: dict[str, str]


def produce(topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({**settings.KAFKA_CLIENT_CONFIG, "enable.idempotence": True})
    for key, value in records:
        producer.produce(topic, value, key)
        producer.poll(0)
    assert producer.flush(30) == 0


def caught_up(group: str, topic: str) -> bool:
    """True once the group's committed offsets are at the end of every partition of topic."""
    consumer = Consumer({**settings.KAFKA_CLIENT_CONFIG, "group.id": group})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        for partition in committed:
            _, high = consumer.get_watermark_offsets(partition, timeout=10)
            if high > 0 and partition.offset < high:
                return False
        return True
    except KafkaException as exc:
        if retriable(exc.args[0]):
            return False
        raise
    finally:
        consumer.close()


def run_in_process(setup: MatcherSetup, timeout: float = 120.0) -> None:
    """Run one matcher in this process until it has matched everything in the raw topic."""
    loop = matcher_loop("in-process", batch_size=200, batch_seconds=0.2)
    deadline = time.monotonic() + timeout
    checked_at = [0.0]

    def done() -> bool:
        assert time.monotonic() < deadline, "the matcher did not catch up"
        if time.monotonic() - checked_at[0] < 1:
            return False
        checked_at[0] = time.monotonic()
        return caught_up(setup.group, setup.raw_topic)

    loop.run(should_stop=done)


class MatcherProcess:
    """``manage.py run_matcher --instance <name>`` as a real process."""

    def __init__(self, setup: MatcherSetup, instance: str | None, log_dir: Path) -> None:
        self.setup = setup
        self.instance = instance  # None: the matcher names itself
        # A log per process: a restarted instance must not read its predecessor's lines.
        self.log = log_dir / f"matcher-{instance}-{uuid.uuid4().hex[:6]}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "MatcherProcess":
        naming = ["--instance", self.instance] if self.instance else []
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run_matcher", *naming],
                cwd=PROJECT_ROOT,
                env=self.setup.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def owns_partitions(self) -> bool:
        """True once the process's last (re)assignment, as it logs them, gave it partitions."""
        owned = [line for line in self.log.read_text().splitlines() if "now owns" in line]
        return bool(owned) and not owned[-1].endswith("now owns []")

    def instance_name(self) -> str:
        """The name the process logged for itself."""
        for line in self.log.read_text().splitlines():
            if ": consuming " in line and "matcher " in line:
                return line.split("matcher ", 1)[1].split(":", 1)[0]
        raise AssertionError(f"no instance name in {self.log}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def terminate(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


def matched_event_id(message) -> str:
    """The event id of a matched record, from its envelope header."""
    return decode_header(dict(message.headers())[ENVELOPE_HEADER])["event_id"]


def decode_unmatched(message) -> dict:
    return msgspec.json.decode(message.value())


def mixed_events(start: int, count: int) -> list[dict]:
    """Mostly valid checkouts; 5% with a bad field and 5% of an unknown event."""
    events = []
    for index in range(start, start + count):
        event = make_event(event_id=str(uuid.uuid4()), client_id=f"device-{index % 50}")
        if index % 20 == 1:
            event["properties"]["total"] = "lots"
        elif index % 20 == 2:
            event["event"] = "not_a_contract"
        events.append(event)
    return events


class Flow:
    """Produces events from a thread, a few every 50 ms, until the block ends."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.events: list[dict] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        producer = Producer({**settings.KAFKA_CLIENT_CONFIG, "enable.idempotence": True})
        while not self.stopped.is_set():
            wave = mixed_events(len(self.events), 40)
            for event in wave:
                key = f"app:{event['client_id']}".encode()
                producer.produce(self.topic, msgspec.json.encode(event), key)
            producer.poll(0)
            self.events += wave
            time.sleep(0.05)
        assert producer.flush(30) == 0

    def wait_for(self, count: int) -> None:
        """Return once ``count`` events were produced."""
        wait_until(lambda: len(self.events) >= count, 120, f"{count} events to be produced")

    def __enter__(self) -> "Flow":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.thread.join(120)


def assert_each_event_once(setup, contract, events: list[dict]) -> None:
    assert len(events) > 1000
    wait_until(lambda: caught_up(setup.group, setup.raw_topic), 180, "the matchers to catch up")
    matched = [matched_event_id(m) for m in read_topic(contract.output_topic)]
    unmatched = [
        decode_unmatched(m)["event"]["event_id"] for m in read_topic(setup.unmatched_topic)
    ]
    seen = Counter(matched + unmatched)
    sent = {e["event_id"] for e in events}
    doubled = {event_id: count for event_id, count in seen.items() if count > 1}
    missing = sent - set(seen)
    assert not doubled and not missing, (
        f"{len(events)} events: {len(matched)} matched + {len(unmatched)} unmatched; "
        f"{len(doubled)} written more than once (e.g. {list(doubled.items())[:3]}), "
        f"{len(missing)} missing (e.g. {sorted(missing)[:3]})"
    )
    assert seen == Counter(sent)
    expected_unmatched = {e["event_id"] for i, e in enumerate(events) if i % 20 in (1, 2)}
    assert set(unmatched) == expected_unmatched
