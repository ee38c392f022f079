"""Sink benchmark: events/s of each file format next to a consume-only passthrough, and peak RSS.

Run ``.venv/bin/python bench/sinks.py``. It starts its own Kafka broker and a SQLite database in
a temporary folder, fills a raw topic with realistic raw events (JSON, several event-time hours)
and two contract topics with matched records (Confluent wire format and the envelope header),
then measures, each phase in a fresh process so that its peak memory is its own:

1. passthrough: the shared consumer loop with the sinks' consumer settings, touching each
   record's value and writing nothing: this machine's ceiling for each topic;
2. ``jsonl``: ``run_sink raw``, gzip JSON Lines; ``avro``: ``run_sink avro``; ``parquet``:
   ``run_sink parquet``. Files go to the local folder, with the default rotation; a phase ends
   when its last file is written and its offsets are committed (SIGTERM's flush included).

Schemas come from an in-process stand-in for the registry (the sinks fetch each schema id once;
what is measured is the writing). Each phase runs ``--rounds`` times, alternating, after one
uncounted warm-up pass; the best round counts. A phase runs from its first batch until its last
record is processed and its last files are committed (see ``Clock``). It prints events/s, the
ratio to the passthrough of the same topic (aims: 0.9 for JSON Lines, 0.7 for Avro and
Parquet), the CPU time of the phase's process per record (all its threads: librdkafka's and
the sink's compression too; less moved by the other work on the machine than events/s), peak
RSS and the load average, which says how busy the machine was.
"""

import argparse
import gc
import io
import json
import os
import random
import resource
import secrets
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from devservices.kafka import KafkaBroker  # noqa: E402

PARTITIONS = 6
AIMS = {"jsonl": 0.9, "avro": 0.7, "parquet": 0.7}
TOPICS = {"jsonl": "bench.raw", "avro": "matched", "parquet": "matched"}
# Two of bench/matcher.py's contracts, with the registry ids it gives them.
MATCHED = {"checkout_completed": 1, "page_viewed": 2}


def environment(workdir: Path, bootstrap: str) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "KAFKA_RAW_TOPIC": "bench.raw",
        "KAFKA_UNMATCHED_TOPIC": "bench.unmatched",
        "KAFKA_TOPIC_PARTITIONS": str(PARTITIONS),
        "SINK_ROOT": str(workdir / "lake"),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "analytics_site.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),  # a throwaway deployment's own key
    }


def setup_django() -> None:
    import django

    django.setup()


def contracts() -> dict[str, dict]:
    from matcher import CONTRACTS

    return {name: CONTRACTS[name] for name in MATCHED}


def records(count: int):
    """``count`` raw events and as many matched records: (topic, key, value, headers) each,
    the raw topic's and a contract topic's in turn (the same events)."""
    import fastavro
    import msgspec
    from matcher import properties

    from events.matcher.convert import compile_schema

    rng = random.Random(7)
    parsed = {name: fastavro.parse_schema(schema) for name, schema in contracts().items()}
    converters = {name: compile_schema(schema) for name, schema in parsed.items()}
    for index in range(count):
        name = rng.choice(list(MATCHED))
        hour = 9 if rng.random() < 0.05 else 10  # a few late events
        moment = f"2026-11-25T{hour:02d}:{rng.randint(0, 59):02d}:00.123000+00:00"
        envelope = {
            "event": name,
            "event_id": str(uuid.uuid4()),
            "timestamp": moment,
            "platform": "ios",
            "app_version": "4.2.0",
            "client_id": f"device-{index % 1000}",
            "received_at": moment,
            "client_app": "shop-ios",
            "event_time": moment,
            "context": {"locale": "de-DE", "app": {"build": "77"}},
        }
        props = properties(name, rng)
        key = f"shop-ios:{envelope['client_id']}".encode()
        yield "bench.raw", key, msgspec.json.encode({**envelope, "properties": props}), None
        body = io.BytesIO()
        fastavro.schemaless_writer(body, parsed[name], converters[name](props))
        value = b"\x00" + struct.pack(">I", MATCHED[name]) + body.getvalue()
        header = msgspec.json.encode({**envelope, "contract_version": 1})
        yield f"bench.avro.{name}", key, value, [("envelope", header)]


def fill_topics(count: int) -> None:
    """``count`` raw events, and as many matched records spread over the two contract topics."""
    from confluent_kafka import Producer

    from analytics_site.kafka import client_config, create_topics

    create_topics(["bench.raw", *(f"bench.avro.{name}" for name in MATCHED)])
    producer = Producer(client_config(**{"linger.ms": 20, "enable.idempotence": True}))
    for topic, key, value, headers in records(count):
        while True:
            try:
                producer.produce(topic, value, key, headers=headers)
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(120) == 0


class Registry:
    """The registry's answers for the bench's schema ids."""

    def get_schema(self, schema_id: int):
        from confluent_kafka.schema_registry import Schema

        name = next(name for name, known in MATCHED.items() if known == schema_id)
        return Schema(json.dumps(contracts()[name]), "AVRO")


class Passthrough:
    """The consumer loop's ceiling: every record's value touched, nothing written."""

    def start(self, consumer) -> None:
        pass

    def assigned(self, partitions) -> frozenset:
        return frozenset()

    def revoked(self, partitions) -> frozenset:
        return frozenset()

    def process(self, messages) -> frozenset:
        for message in messages:
            message.value()
        return frozenset()

    def tick(self) -> frozenset:
        return frozenset()

    def close(self) -> None:
        pass


class Clock:
    """Wall and CPU time of a phase: from its first batch until its last record is processed,
    then the policy's close (the last files written and committed). The final ``consume()``
    call, which waits ``SINK_BATCH_SECONDS`` for records that never come, is left out, and so
    is closing the consumer."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.wall = self.cpu = 0.0
        self._started: tuple[float, float] | None = None

    def _now(self) -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def _add(self, since: tuple[float, float]) -> None:
        wall, cpu = self._now()
        self.wall += wall - since[0]
        self.cpu += cpu - since[1]

    def timing(self, process):
        def timed(messages):
            if self._started is None:
                self._started = self._now()
            reread = process(messages)
            self.count += len(messages)
            if self.count >= self.expected:
                self._add(self._started)
            return reread

        return timed

    def timing_close(self, close):
        def timed() -> None:
            since = self._now()
            close()
            self._add(since)

        return timed

    def done(self) -> bool:
        return self.count >= self.expected


def phase(name: str, topic: str, expected: int) -> None:
    """One measured run, in this (fresh) process; prints a JSON line."""
    from django.conf import settings

    from events.consumer import ConsumerConfig, ConsumerLoop
    from events.sinks import runner

    settings.SINK_CONSUMER_GROUP_PREFIX = f"bench-{uuid.uuid4().hex[:8]}"
    topics = ("bench.raw",) if topic == "bench.raw" else tuple(f"bench.avro.{n}" for n in MATCHED)
    if name == "passthrough":
        loop = ConsumerLoop(
            Passthrough(),
            ConsumerConfig(
                name="passthrough",
                group=settings.SINK_CONSUMER_GROUP_PREFIX,
                topics=topics,
                batch_size=settings.SINK_BATCH_SIZE,
                batch_seconds=settings.SINK_BATCH_SECONDS,
                settings=runner.CONSUMER_SETTINGS,
            ),
        )
    else:
        runner.registry_client = Registry
        loop = runner.build({"jsonl": "raw"}.get(name, name), instance=None)
    gc.freeze()  # as run_until_stopped does for run_sink
    clock = Clock(expected)
    loop.policy.process = clock.timing(loop.policy.process)
    loop.policy.close = clock.timing_close(loop.policy.close)
    loop.run(should_stop=clock.done)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = clock.count / clock.wall
    cpu_us = clock.cpu / clock.count * 1e6  # the process's threads included
    print(json.dumps({"rate": rate, "cpu_us": cpu_us, "peak_mib": peak_mib}))


def run_phase(env: dict[str, str], name: str, topic: str, expected: int) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--topic", topic, "--events", str(expected)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.phase:
        setup_django()
        phase(options.phase, options.topic, options.events)
        return

    with tempfile.TemporaryDirectory(prefix="bench-sinks-") as tmp:
        workdir = Path(tmp)
        broker = KafkaBroker(workdir / "kafka")
        broker.start()
        try:
            env = environment(workdir, broker.bootstrap_servers)
            os.environ.update(env)
            setup_django()
            from django.core.management import call_command
            from matcher import publish_contracts

            call_command("migrate", verbosity=0)
            publish_contracts()  # the matcher benchmark's contracts, registry ids 1 to 4
            fill_topics(options.events)
            from django.conf import settings

            print(
                f"{options.events} raw events and {options.events} matched records "
                f"({len(MATCHED)} contracts), {PARTITIONS} partitions, batches of "
                f"{settings.SINK_BATCH_SIZE}, rotation {settings.SINK_ROTATE_SECONDS:g} s / "
                f"{settings.SINK_ROTATE_BYTES // 2**20} MiB"
            )
            run_phase(env, "passthrough", "bench.raw", options.events)  # warms the broker up
            results: dict[tuple[str, str], list[dict]] = {}
            for _ in range(options.rounds):
                for name in ("jsonl", "avro", "parquet"):
                    topic = TOPICS[name] if TOPICS[name] == "bench.raw" else "matched"
                    for measured in ("passthrough", name):
                        results.setdefault((measured, topic), []).append(
                            run_phase(env, measured, topic, options.events)
                        )
            print(
                f"{'':24} {'events/s':>10} {'ratio':>6} {'aim':>5} {'CPU/record':>11} "
                f"{'peak RSS':>9}"
            )
            for name in ("jsonl", "avro", "parquet"):
                topic = TOPICS[name]
                ceiling = max(results[("passthrough", topic)], key=lambda r: r["rate"])
                best = max(results[(name, topic)], key=lambda r: r["rate"])
                ratio = best["rate"] / ceiling["rate"]
                verdict = "meets" if ratio >= AIMS[name] else "misses"
                label = f"passthrough ({'raw' if topic == 'bench.raw' else 'matched'})"
                peak = max(r["peak_mib"] for r in results[("passthrough", topic)])
                print(
                    f"{label:24} {ceiling['rate']:>10,.0f} {'':>6} {'':>5} "
                    f"{ceiling['cpu_us']:>8.2f} µs {peak:>6.0f} MiB"
                )
                print(
                    f"{name:24} {best['rate']:>10,.0f} {ratio:>6.2f} {AIMS[name]:>5} "
                    f"{best['cpu_us']:>8.2f} µs {best['peak_mib']:>6.0f} MiB   {verdict} the aim"
                )
            print("load average: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
