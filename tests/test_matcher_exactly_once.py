"""Exactly once across crashes and rebalances: real matcher processes, killed and restarted."""

import random
import threading
import time
import uuid
from collections import Counter

import msgspec
from confluent_kafka import Producer
from django.conf import settings

from devservices._process import wait_until
from tests.conftest import make_event, read_topic
from tests.matcher_helpers import (
    CHECKOUT_V1,
    caught_up,
    decode_unmatched,
    make_contract,
    matched_event_id,
)

pytest_plugins = ["tests.matcher_fixtures"]


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
    assert len(matched) + len(unmatched) == len(events)
    assert seen == Counter(e["event_id"] for e in events)
    expected_unmatched = {e["event_id"] for i, e in enumerate(events) if i % 20 in (1, 2)}
    assert set(unmatched) == expected_unmatched


def test_sigkill_while_events_flow_loses_and_doubles_nothing(matcher_setup, matcher_processes):
    contract = make_contract("checkout_completed", CHECKOUT_V1)
    rng = random.Random(4)
    matchers = {name: matcher_processes(name) for name in ("a", "b")}

    with Flow(matcher_setup.raw_topic) as flow:
        for _ in range(6):
            # Kill a matcher that is busy matching, not one still starting up.
            name = rng.choice(sorted(matchers))
            wait_until(matchers[name].owns_partitions, 120, f"matcher {name} to get partitions")
            time.sleep(rng.uniform(0.3, 1.5))
            matchers[name].kill()
            matchers[name] = matcher_processes(name)

    assert_each_event_once(matcher_setup, contract, flow.events)
    for matcher in matchers.values():
        assert matcher.terminate() == 0, matcher.log.read_text()


def test_scaling_in_and_out_with_sigterm_loses_and_doubles_nothing(
    matcher_setup, matcher_processes
):
    contract = make_contract("checkout_completed", CHECKOUT_V1)
    first = matcher_processes("a")

    with Flow(matcher_setup.raw_topic) as flow:
        wait_until(first.owns_partitions, 120, "the first matcher to get partitions")
        second = matcher_processes("b")
        wait_until(second.owns_partitions, 120, "the second matcher to get partitions")
        time.sleep(1.0)
        assert first.terminate() == 0, first.log.read_text()  # leaves while events flow
        third = matcher_processes("c")
        wait_until(third.owns_partitions, 120, "the third matcher to get partitions")
        time.sleep(1.0)
        assert second.terminate() == 0, second.log.read_text()
        time.sleep(1.0)

    assert_each_event_once(matcher_setup, contract, flow.events)
    assert third.terminate() == 0, third.log.read_text()
