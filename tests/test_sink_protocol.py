"""The sinks' exactly-once protocol, driven through crashes, wall-clock rotation and zombies.

A small in-memory stand-in for the consumer group (committed offsets with metadata, fencing of
a member that lost its partitions) and the real policy, file writers and local storage: every
run ends with each record in exactly one file, however the crashes and rotations fell.
The same property is checked against real Kafka and S3 in test_sink_exactly_once.py.
"""

import gzip
import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from django.core.files.storage import FileSystemStorage

from events.sinks import policy as policy_module
from events.sinks.files import Rotation
from events.sinks.layout import Layout
from events.sinks.policy import SinkPolicy
from events.sinks.routes import Bucket, Route, Routed
from tests.sink_helpers import Record

TOPIC = "events.raw"
PARTITIONS = (0, 1)


class Crash(Exception):
    """The process died here."""


def message(partition: int, offset: int, bucket: str) -> Record:
    value = json.dumps({"p": partition, "o": offset, "b": bucket}).encode()
    return Record(TOPIC, partition, offset, value)


class BucketRoute(Route):
    kind = "raw"

    def route(self, message) -> Routed:
        bucket = json.loads(message.value())["b"]
        return Routed(Bucket("raw", f"raw/{bucket}"), message.value(), len(message.value()))


class Group:
    """Committed offsets and metadata of one consumer group, and its generation."""

    def __init__(self) -> None:
        self.committed: dict[int, tuple[int, str]] = {}
        self.generation = 0


class Member:
    """The consumer as the policy sees it: commits fail once the member is fenced."""

    def __init__(self, group: Group, crash, refusals: float = 0.0, seed: int = 0) -> None:
        self.group = group
        self.generation = group.generation
        self.positions: dict[int, int] = {}
        self.crash = crash
        self.refusals = refusals  # commits refused while a rebalance keeps the partitions here
        self.rng = random.Random(seed)

    def commit(self, offsets, asynchronous=False):
        self.crash("commit")
        if self.generation != self.group.generation:
            raise KafkaException(KafkaError(KafkaError.ILLEGAL_GENERATION))
        if self.rng.random() < self.refusals:
            raise KafkaException(KafkaError(KafkaError.REBALANCE_IN_PROGRESS))
        for tp in offsets:
            self.group.committed[tp.partition] = (tp.offset, tp.metadata)
        self.crash(
            "after commit" if "p" not in json.loads(offsets[0].metadata or "{}") else "declared"
        )
        return offsets

    def committed(self, partitions, timeout=None):
        found = []
        for tp in partitions:
            offset, metadata = self.group.committed.get(tp.partition, (-1001, ""))
            found.append(TopicPartition(tp.topic, tp.partition, offset, metadata=metadata))
        return found

    def reread(self, partitions) -> None:
        """What the consumer loop does with the partitions a policy returns."""
        for _, partition in partitions:
            self.positions[partition] = max(self.group.committed.get(partition, (0, ""))[0], 0)


def make_log(rng: random.Random, size: int) -> dict[int, list[str]]:
    """Per partition, the bucket of each record: mostly the current hour, some late events."""
    log = {}
    for partition in PARTITIONS:
        hour, buckets = 0, []
        for _ in range(size):
            if rng.random() < 0.02:
                hour += 1
            late = rng.random() < 0.15
            buckets.append(f"h{max(hour - rng.randint(1, 30), 0) if late else hour}")
        log[partition] = buckets
    return log


def start(group, storage, rng, crash, refusals=0.0) -> tuple[SinkPolicy, Member]:
    member = Member(group, crash, refusals, rng.randint(0, 10**6))
    policy = SinkPolicy(
        "test",
        BucketRoute(Layout("dt=%Y-%m-%d")),
        storage,
        Rotation(seconds=3600, records=rng.randint(20, 200), bytes=10**9, max_open=4),
        memory_bytes=rng.choice([10**9, 40_000]),
        metadata_max_bytes=rng.choice([4096, 700]),
        upload_concurrency=2,
    )
    policy.start(member)
    policy.assigned([TopicPartition(TOPIC, p) for p in PARTITIONS])
    for partition in PARTITIONS:
        member.positions[partition] = max(group.committed.get(partition, (0, ""))[0], 0)
    return policy, member


def step(policy: SinkPolicy, member: Member, log, rng: random.Random) -> bool:
    """Hand the policy one batch; sometimes tick with every file due (the wall clock moved on).
    Return False once everything was read."""
    batch = []
    for partition in PARTITIONS:
        begin = member.positions[partition]
        end = min(begin + rng.randint(0, 40), len(log[partition]))
        batch += [message(partition, o, log[partition][o]) for o in range(begin, end)]
        member.positions[partition] = end
    rng.shuffle(batch)  # partitions interleave; each partition's own order is kept below
    batch.sort(key=lambda m: (m.partition(), m.offset()))
    member.reread(policy.process(batch))
    if rng.random() < 0.3:
        policy.rotation = replace(policy.rotation, seconds=0 if rng.random() < 0.5 else 3600)
        member.reread(policy.tick())
    return any(member.positions[p] < len(log[p]) for p in PARTITIONS)


def stored(root: Path) -> Counter:
    seen = Counter()
    for path in root.rglob("*.jsonl.gz"):
        if ".tmp" in path.parts:
            continue
        for line in gzip.decompress(path.read_bytes()).splitlines():
            record = json.loads(line)
            assert path.parent.name == record["b"], f"{record} in the wrong folder {path}"
            seen[(record["p"], record["o"])] += 1
    return seen


def expected(log) -> Counter:
    return Counter((p, o) for p in PARTITIONS for o in range(len(log[p])))


@pytest.mark.parametrize("seed", range(12))
def test_crashes_and_refused_commits_at_any_step_leave_each_record_in_one_file(tmp_path, seed):
    rng = random.Random(seed)
    log = make_log(rng, 600)
    group = Group()
    crashes = 0
    for _ in range(40):
        calls = [0]
        crash_at = rng.randint(1, 60)

        def crash(where, calls=calls, crash_at=crash_at):
            calls[0] += 1
            if calls[0] == crash_at:
                raise Crash(where)

        storage = FileSystemStorage(location=tmp_path)
        policy, member = start(group, storage, rng, crash, refusals=0.05)
        try:
            while step(policy, member, log, rng):
                pass
            policy.close()
            if all(group.committed.get(p, (0, ""))[0] == len(log[p]) for p in PARTITIONS):
                break  # else its last commit was refused: the next process takes over
        except Crash:
            crashes += 1  # the process is gone: its memory with it
            policy.uploads.shutdown()
    assert crashes > 0
    assert stored(tmp_path) == expected(log)


@pytest.mark.parametrize("seed", range(12))
def test_a_member_that_lost_its_partitions_while_uploading_writes_no_record_twice(
    tmp_path, monkeypatch, seed
):
    rng = random.Random(100 + seed)
    log = make_log(rng, 500)
    group = Group()
    real_put = policy_module.put
    zombie_storage = FileSystemStorage(location=tmp_path)
    deferred: list[tuple[str, bytes]] = []
    state = {"zombie": False}

    def put(storage, name, data):
        if storage is zombie_storage and state["zombie"]:
            deferred.append((name, data))  # still uploading when the new owner takes over
            return
        real_put(storage, name, data)

    monkeypatch.setattr(policy_module, "put", put)
    uploads_before_pause = rng.randint(1, 6)
    count = [0]

    def pause_after_some_uploads(where):
        if where == "declared":
            count[0] += 1
            if count[0] == uploads_before_pause:
                state["zombie"] = True  # from now on its uploads hang...
                group.generation += 1  # ...and the group moved its partitions elsewhere

    zombie, member = start(group, zombie_storage, rng, pause_after_some_uploads)
    zombie.storage = zombie_storage
    while not state["zombie"] and step(zombie, member, log, rng):
        pass
    zombie.close()  # its last commit fails: it is no member any more

    owner, owner_member = start(group, FileSystemStorage(location=tmp_path), rng, lambda _: None)
    while step(owner, owner_member, log, rng):
        pass
    owner.close()
    assert deferred, "the zombie was to be caught uploading"
    for name, data in deferred:  # the zombie's uploads land last
        real_put(zombie_storage, name, data)
    assert stored(tmp_path) == expected(log)


def test_memory_and_open_files_stay_within_their_bounds(tmp_path):
    """Late events over many days and no rotation by age: after every batch, no partition has
    more open files than the bound, nor all files together more memory than the budget."""
    rng = random.Random(3)
    log = make_log(rng, 3000)
    member = Member(Group(), lambda _: None)
    policy = SinkPolicy(
        "test",
        BucketRoute(Layout("dt=%Y-%m-%d")),
        FileSystemStorage(location=tmp_path),
        Rotation(seconds=3600, records=10**9, bytes=10**12, max_open=8),
        memory_bytes=20_000,
    )
    policy.start(member)
    policy.assigned([TopicPartition(TOPIC, p) for p in PARTITIONS])
    member.positions = dict.fromkeys(PARTITIONS, 0)
    peak = 0
    while any(member.positions[p] < len(log[p]) for p in PARTITIONS):
        batch = []
        for partition in PARTITIONS:
            begin = member.positions[partition]
            end = min(begin + 40, len(log[partition]))
            batch += [message(partition, o, log[partition][o]) for o in range(begin, end)]
            member.positions[partition] = end
        member.reread(policy.process(batch))
        assert all(len(files.files) <= 8 for files in policy.partitions.values())
        memory = sum(files.memory for files in policy.partitions.values())
        assert memory <= 20_000
        peak = max(peak, memory)
    assert peak > 10_000  # the budget, not the data, kept memory down
    policy.close()
    assert stored(tmp_path) == expected(log)
