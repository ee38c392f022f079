"""Where a sink's time goes per record, in process: no broker, no timing noise from fetching.

Run ``.venv/bin/python bench/sink_steps.py [--events 50000] [--repeat 3]``. It builds the
records ``bench/sinks.py`` fills its topics with (as ``confluent_kafka.Message`` objects, in
runs of a partition as a fetch returns them) and times, best of ``--repeat``, in µs a record:

- ``loop``: what the shared consumer loop and the passthrough do with each record (ownership
  check, reading the value): the in-process part of the benchmark's ceiling;
- ``route``: routing alone (the record's bucket and the item its file holds);
- ``process``: the sink policy's ``process`` (routing, open-file bookkeeping, the writers),
  then ``close`` (the last files finished and written to a temporary folder), with the CPU time
  of the process beside the wall time: they differ when work runs in other threads;
- ``gzip N``: compressing the raw records as JSON Lines at level N, alone.
"""

import argparse
import gc
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from confluent_kafka import Message, TopicPartition

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sinks import MATCHED, Registry, records  # noqa: E402

PARTITIONS = 6
RUN = 500  # records of one partition in a row, as a fetch response hands them over


class Consumer:
    """What the policy calls on its consumer: commits always succeed, nothing committed yet."""

    def commit(self, offsets, asynchronous=False):
        return offsets

    def committed(self, partitions, timeout=None):
        return [TopicPartition(p.topic, p.partition, -1001) for p in partitions]


def messages(count: int) -> tuple[list[Message], list[Message]]:
    """The raw and the matched records, as Kafka hands them to the consumer."""
    raw, matched = [], []
    offsets: dict[tuple[str, int], int] = {}
    for index, (topic, key, value, headers) in enumerate(records(count)):
        partition = (index // 2 // RUN) % PARTITIONS
        offset = offsets.get((topic, partition), 0)
        offsets[(topic, partition)] = offset + 1
        message = Message(
            topic=topic,
            partition=partition,
            offset=offset,
            key=key,
            value=value,
            headers=headers,
            timestamp=(1, 1764064800000 + index),
        )
        (raw if topic == "bench.raw" else matched).append(message)
    return raw, matched


def best(repeat: int, run) -> tuple[float, float]:
    """The fastest of ``repeat`` runs of ``run()``: (wall, CPU) seconds."""
    timings = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "analytics_site.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    import django

    django.setup()
    from django.conf import settings
    from django.core.files.storage import FileSystemStorage

    from events.consumer import ConsumerLoop
    from events.sinks import runner
    from events.sinks.files import Rotation
    from events.sinks.formats import Compression, JsonLinesFile
    from events.sinks.policy import SinkPolicy
    from events.sinks.routes import MatchedRoute, RawRoute
    from events.sinks.schemas import SchemaBook

    raw, matched = messages(options.events)
    gc.freeze()  # as run_until_stopped does for run_sink
    layout = runner.layout()
    names = {f"bench.avro.{name}": name for name in MATCHED}.get
    compression = Compression(settings.SINK_COMPRESSION_THREADS)
    writing = {"gzip_level": settings.SINK_GZIP_LEVEL, "compression": compression}
    routes = {
        "jsonl": lambda: RawRoute(layout, **writing),
        "avro": lambda: MatchedRoute(
            "avro",
            layout,
            SchemaBook(Registry()),
            names,
            avro_codec=settings.SINK_AVRO_CODEC,
            **writing,
        ),
        "parquet": lambda: MatchedRoute(
            "parquet",
            layout,
            SchemaBook(Registry()),
            names,
            parquet_compression=settings.SINK_PARQUET_COMPRESSION,
            **writing,
        ),
    }
    inputs = {"jsonl": raw, "avro": matched, "parquet": matched}
    rotation = Rotation(
        settings.SINK_ROTATE_SECONDS,
        settings.SINK_ROTATE_RECORDS,
        settings.SINK_ROTATE_BYTES,
        settings.SINK_MAX_OPEN_FILES,
    )
    count = len(raw)

    def show(label: str, timing: tuple[float, float]) -> None:
        wall, cpu = timing
        print(f"{label:28} {wall / count * 1e6:7.2f} µs  (CPU {cpu / count * 1e6:6.2f} µs)")

    print(
        f"{count} records of each kind, {PARTITIONS} partitions, best of {options.repeat}; "
        f"SINK_GZIP_LEVEL={settings.SINK_GZIP_LEVEL}, "
        f"SINK_COMPRESSION_THREADS={settings.SINK_COMPRESSION_THREADS}"
    )
    # The loop's own state, without its Kafka consumer.
    loop = SimpleNamespace(
        assigned={(m.topic(), m.partition()) for m in raw}, _to_rewind=set(), config=None
    )

    def passthrough() -> None:
        for message in ConsumerLoop._owned(loop, raw):
            message.value()

    show("loop (passthrough)", best(options.repeat, passthrough))
    with tempfile.TemporaryDirectory(prefix="sink-steps-") as tmp:
        for kind, make_route in routes.items():
            route = make_route()
            route(inputs[kind][0])  # fetches the schema once, outside the timing
            given = inputs[kind]
            show(f"route {kind}", best(options.repeat, lambda: [route(m) for m in given]))  # noqa: B023

            def process(kind=kind, route=route) -> None:
                policy = SinkPolicy(kind, route, FileSystemStorage(location=tmp), rotation, 2**40)
                policy.start(Consumer())
                keys = sorted({(m.topic(), m.partition()) for m in inputs[kind]})
                policy.assigned([TopicPartition(*key) for key in keys])
                batch = settings.SINK_BATCH_SIZE
                for start in range(0, len(inputs[kind]), batch):
                    policy.process(inputs[kind][start : start + batch])
                policy.close()

            show(f"process + close {kind}", best(options.repeat, process))
        lines = [m.value() for m in raw]
        for level in (1, 6):

            def compress(level=level) -> None:
                writer = JsonLinesFile(level)
                for line in lines:
                    writer.add(line, len(line))
                writer.finish()

            show(f"gzip {level}", best(options.repeat, compress))


if __name__ == "__main__":
    main()
