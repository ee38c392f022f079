"""Exactly once, with wall-clock rotation, across SIGKILL and partition moves: real sink
processes (``manage.py run_sink raw``) writing to S3 (moto's server) while events flow.

Rotation is by age (0.7 s), by records, and by the open-file bound (late events spread over
many hours), so that the files' boundaries differ from run to run; every object is read back
at the end and compared with the topic.
"""

import gzip
import json
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import requests
from django.conf import settings

from devservices._process import free_port, wait_until
from tests.conftest import make_event, read_topic
from tests.matcher_helpers import Flow, caught_up, produce

pytest_plugins = ["tests.sink_fixtures"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def late_events(seed: int):
    """Raw events for ``Flow``: a tenth of them late, up to ten hours, in their own folders."""
    rng = random.Random(seed)

    def make(start: int, count: int) -> list[dict]:
        events = []
        for index in range(start, start + count):
            hour = 10 if rng.random() < 0.9 else rng.randint(0, 9)
            moment = f"2026-11-25T{hour:02d}:{rng.randint(0, 59):02d}:00.000000+00:00"
            event = make_event(event_id=str(uuid.uuid4()), client_id=f"device-{index % 50}")
            events.append({**event, "received_at": moment, "event_time": moment})
        return events

    return make


class SinkProcess:
    """``manage.py run_sink raw --instance <name>`` as a real process."""

    def __init__(self, env: dict[str, str], instance: str, log_dir: Path) -> None:
        self.env = env
        self.instance = instance
        self.log = log_dir / f"sink-{instance}-{uuid.uuid4().hex[:6]}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "SinkProcess":
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run_sink", "raw", "--instance", self.instance],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def owned(self) -> str | None:
        lines = [line for line in self.log.read_text().splitlines() if "now owns" in line]
        return lines[-1].rsplit("now owns ", 1)[1] if lines else None

    def owns_partitions(self) -> bool:
        owned = self.owned()
        return owned is not None and owned != "[]"

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.process.wait(30)

    def terminate(self, timeout: float = 60.0) -> int:
        self.signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.signal(signal.SIGCONT)
            self.kill()


@pytest.fixture
def sink_env(s3_lake, raw_topic, settings) -> dict[str, str]:
    group_prefix = f"test-sink-{uuid.uuid4().hex[:12]}"
    settings.SINK_CONSUMER_GROUP_PREFIX = group_prefix
    env = {
        **s3_lake.env,
        "KAFKA_RAW_TOPIC": raw_topic,
        "KAFKA_TOPIC_PARTITIONS": str(settings.KAFKA_TOPIC_PARTITIONS),
        "SINK_CONSUMER_GROUP_PREFIX": group_prefix,
        "SINK_ROTATE_SECONDS": "0.7",
        "SINK_ROTATE_RECORDS": "150",
        "SINK_MAX_OPEN_FILES": "3",
        "SINK_BATCH_SIZE": "200",
        "SINK_BATCH_SECONDS": "0.2",
        "SINK_SESSION_TIMEOUT_MS": "6000",
        "SINK_UPLOAD_CONCURRENCY": "2",
        "LOG_LEVEL": "INFO",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


@pytest.fixture
def sinks(sink_env, tmp_path):
    started: list[SinkProcess] = []

    def start(instance: str) -> SinkProcess:
        sink = SinkProcess(sink_env, instance, tmp_path).start()
        started.append(sink)
        return sink

    yield start
    for sink in started:
        sink.stop()


def assert_each_record_in_one_object(s3_lake, topic: str, at_least=1000, files=20) -> None:
    group = f"{settings.SINK_CONSUMER_GROUP_PREFIX}-raw"
    wait_until(lambda: caught_up(group, topic), 180, "the sinks to commit every record")
    records = read_topic(topic)
    where = {json.loads(m.value())["event_id"]: (m.partition(), m.offset()) for m in records}
    in_topic = Counter(json.loads(m.value())["event_id"] for m in records)
    assert len(in_topic) >= at_least and set(in_topic.values()) == {1}
    in_objects: Counter = Counter()
    keys = s3_lake.keys("raw/")
    for key in keys:
        for line in gzip.decompress(s3_lake.read(key)).splitlines():
            event = json.loads(line)
            in_objects[event["event_id"]] += 1
            assert f"hour={event['event_time'][11:13]}/" in key
    doubled = {event: count for event, count in in_objects.items() if count > 1}
    assert not doubled, f"{len(doubled)} records in more than one object"
    missing = sorted(where[event] for event in in_topic.keys() - in_objects.keys())
    assert not missing, f"records in no object (partition, offset): {missing[:20]}"
    assert in_objects == in_topic
    assert len(keys) >= files  # many files: rotation really happened while sinks died


def test_sigkill_while_events_flow_writes_each_record_to_one_object(sinks, s3_lake, raw_topic):
    rng = random.Random(7)
    running = {name: sinks(name) for name in ("a", "b")}
    with Flow(raw_topic, late_events(seed=1)):
        for _ in range(8):
            name = rng.choice(sorted(running))
            wait_until(running[name].owns_partitions, 120, f"sink {name} to get partitions")
            time.sleep(rng.uniform(0.3, 2.0))
            running[name].kill()
            running[name] = sinks(name)
    assert_each_record_in_one_object(s3_lake, raw_topic)
    for sink in running.values():
        assert sink.terminate() == 0, sink.log.read_text()


def test_partitions_moving_between_sinks_and_a_paused_one_write_each_record_once(
    sinks, s3_lake, raw_topic
):
    first = sinks("a")
    with Flow(raw_topic, late_events(seed=2)):
        wait_until(first.owns_partitions, 120, "the first sink to get partitions")
        second = sinks("b")
        wait_until(second.owns_partitions, 120, "the second sink to get partitions")
        time.sleep(1.5)
        # Paused past its session timeout, the first loses its partitions mid-work; resumed,
        # it finds out only when its commits are refused.
        first.signal(signal.SIGSTOP)
        everything = "[" + ", ".join(f"'{raw_topic}[{p}]'" for p in range(3)) + "]"
        wait_until(lambda: second.owned() == everything, 60, "the second sink to own all")
        time.sleep(1.0)
        first.signal(signal.SIGCONT)
        refused = ("Unknown member", "before committing", "FENCED")
        wait_until(
            lambda: any(text in first.log.read_text() for text in refused),
            60,
            "the resumed sink to have a commit refused",
        )
        wait_until(first.owns_partitions, 120, "the first sink to rejoin")
        time.sleep(1.5)
        assert second.terminate() == 0, second.log.read_text()  # leaves while events flow
        third = sinks("c")
        wait_until(third.owns_partitions, 120, "the third sink to get partitions")
        time.sleep(1.5)
    assert_each_record_in_one_object(s3_lake, raw_topic)
    for sink in (first, third):
        assert sink.terminate() == 0, sink.log.read_text()


def test_sigterm_writes_and_commits_every_open_file(sinks, sink_env, s3_lake, raw_topic):
    port = free_port()
    sink_env.update(
        SINK_ROTATE_SECONDS="3600",
        SINK_ROTATE_RECORDS="1000000",
        SINK_MAX_OPEN_FILES="32",  # one file per hour stays open until SIGTERM
        SINK_METRICS_PORT=str(port),
    )
    events = [
        {"event": "x", "event_id": str(uuid.uuid4()), "event_time": f"2026-11-25T{h:02d}:00:00Z"}
        for h in range(24)
        for _ in range(20)
    ]
    produce(raw_topic, [(None, json.dumps(event).encode()) for event in events])
    sink = sinks("a")

    def all_read() -> bool:
        try:
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except requests.ConnectionError:
            return False
        lag = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("consumer_lag{")
        ]
        return len(lag) == 3 and sum(lag) == 0

    wait_until(all_read, 120, "the sink to read every record")
    assert s3_lake.keys("raw/") == []  # nothing is old enough to be written yet
    assert sink.terminate() == 0, sink.log.read_text()
    assert_each_record_in_one_object(s3_lake, raw_topic, at_least=len(events), files=24)
