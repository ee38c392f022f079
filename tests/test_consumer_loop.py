"""The shared consumer loop's bookkeeping around rebalances, with a scripted consumer.

Real-broker tests (tests/test_matcher_exactly_once.py) exercise the same paths under load; this
one pins down, deterministically, what must happen when a rebalance callback asks for partitions
to be read again in the middle of a fetch.
"""

from collections.abc import Callable

import pytest
from confluent_kafka import TopicPartition

from events import consumer as consumer_module
from events.consumer import ConsumerConfig, ConsumerLoop

TOPIC = "raw"


class Record:
    def __init__(self, partition: int, offset: int) -> None:
        self._partition, self._offset = partition, offset

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset


class ScriptedConsumer:
    """Plays consume() steps; a step may run rebalance callbacks before returning records."""

    steps: list[Callable[["ScriptedConsumer"], list[Record]]] = []

    def __init__(self, config: dict) -> None:
        self.sought: list[tuple[int, int]] = []
        self.committed_offsets = {0: 100, 1: 200}
        self.steps = list(ScriptedConsumer.steps)

    def subscribe(self, topics, on_assign, on_revoke, on_lost) -> None:
        self.on_assign, self.on_revoke = on_assign, on_revoke

    def consume(self, count: int, timeout: float) -> list[Record]:
        return self.steps.pop(0)(self) if self.steps else []

    def committed(self, partitions, timeout):
        return [
            TopicPartition(p.topic, p.partition, self.committed_offsets[p.partition])
            for p in partitions
        ]

    def seek(self, partition: TopicPartition) -> None:
        self.sought.append((partition.partition, partition.offset))

    def position(self, partitions):
        return partitions

    def get_watermark_offsets(self, partition, cached=False):
        return (0, 0)

    def close(self) -> None:
        pass


class RecordingPolicy:
    def __init__(self, on_revoke_reread: frozenset = frozenset()) -> None:
        self.processed: list[tuple[int, int]] = []
        self.on_revoke_reread = on_revoke_reread
        self.sought_before_process: list[list] = []

    def start(self, consumer) -> None:
        self.consumer = consumer

    def assigned(self, partitions) -> None:
        pass

    def revoked(self, partitions) -> frozenset:
        return self.on_revoke_reread

    def process(self, messages) -> frozenset:
        self.sought_before_process.append(list(self.consumer.sought))
        self.processed += [(m.partition(), m.offset()) for m in messages]
        return frozenset()

    def tick(self) -> frozenset:
        return frozenset()

    def close(self) -> None:
        pass


@pytest.fixture
def script(monkeypatch):
    """Sets the steps the loop's consumer plays."""
    monkeypatch.setattr(consumer_module, "Consumer", ScriptedConsumer)
    return lambda steps: monkeypatch.setattr(ScriptedConsumer, "steps", steps)


def run(policy: RecordingPolicy, steps: int) -> ConsumerLoop:
    loop = ConsumerLoop(policy, ConsumerConfig("test", "group", (TOPIC,), 100, 0.1))
    calls = iter(range(steps))
    loop.run(should_stop=lambda: next(calls, None) is None)
    return loop


def test_partitions_to_reread_after_a_revoke_are_dropped_from_the_fetch_and_sought_after_it(
    script,
):
    def assign(consumer):
        consumer.on_assign(consumer, [TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)])
        return [Record(0, 100), Record(1, 200)]

    def revoke_during_fetch(consumer):
        # A record fetched before the callback, the callback (partition 0 leaves; the batch in
        # flight was aborted, so partition 1 must be read again), then one fetched after it.
        before = Record(1, 201)
        consumer.on_revoke(consumer, [TopicPartition(TOPIC, 0)])
        after = Record(1, 202)
        assert consumer.sought == [], "no seek inside the callback"
        return [Record(0, 101), before, after]

    def reread(consumer):
        return [Record(1, 200), Record(1, 201), Record(1, 202)]

    script([assign, revoke_during_fetch, reread])
    policy = RecordingPolicy(on_revoke_reread=frozenset({(TOPIC, 0), (TOPIC, 1)}))

    loop = run(policy, steps=3)

    # Nothing of the fetch that saw the callback was processed; partition 1 was sought back to
    # its committed offset once the fetch had returned, and read again from there.
    assert policy.processed == [(0, 100), (1, 200), (1, 200), (1, 201), (1, 202)]
    assert loop.consumer.sought == [(1, 200)]
    assert policy.sought_before_process[-1] == [(1, 200)]
    assert loop.assigned == {(TOPIC, 1)}
