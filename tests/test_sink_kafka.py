"""The sinks against a real broker: files appear, in the right folders, with every record once.

Sinks run in this process on the shared consumer loop (``events.sinks.runner.build``); files go
to a local folder, except where the test is about S3.
"""

import io
import json
import uuid

import avro.datafile
import avro.io
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from prometheus_client import REGISTRY

from analytics_site.kafka import create_topics
from events.sinks.runner import build
from tests.matcher_helpers import caught_up, produce
from tests.sink_fixtures import read_lines, run_until
from tests.sink_helpers import ORDER, envelope_header, order, wire

pytest_plugins = ["tests.sink_fixtures", "tests.contracts_fixtures"]


def raw_event(index: int, event_time: str) -> dict:
    return {
        "event": "signed_up",
        "event_id": str(uuid.UUID(int=index)),
        "timestamp": event_time,
        "platform": "web",
        "app_version": "1.0",
        "properties": {"plan": "pro"},
        "received_at": "2026-11-25T12:00:00.000000+00:00",
        "client_app": "shop-web",
        "event_time": event_time,
    }


def test_raw_events_land_in_their_hour_and_idle_files_are_flushed_on_time(sink_settings, raw_topic):
    hours = ["2026-11-25T10:15:00.000000+00:00", "2026-11-25T11:59:59.999000+00:00"]
    late = "2026-11-20T03:00:00.000000+00:00"
    events = [raw_event(i, late if i % 50 == 0 else hours[i % 2]) for i in range(600)]
    produce(raw_topic, [(b"k%d" % i, json.dumps(e).encode()) for i, e in enumerate(events)])
    root = sink_settings.SINK_ROOT
    group = f"{sink_settings.SINK_CONSUMER_GROUP_PREFIX}-raw"

    # Rotation by records and bytes is out of reach: only the age rotation of idle files
    # (no record arrives after the first batches) can write them.
    run_until(
        build("raw"), lambda: len(read_lines(root)) >= len(events) and caught_up(group, raw_topic)
    )

    lines = read_lines(root)
    assert sorted(line["event_id"] for line in lines) == sorted(e["event_id"] for e in events)
    folders = {path.parent.relative_to(root).as_posix() for path in root.glob("raw/**/*.gz")}
    assert folders == {
        "raw/dt=2026-11-25/hour=10",
        "raw/dt=2026-11-25/hour=11",
        "raw/dt=2026-11-20/hour=03",
    }
    for path in root.glob("raw/**/*.gz"):
        topic, partition, offset = path.name.removesuffix(".jsonl.gz").split("+")
        assert topic == raw_topic and int(partition) in range(3) and len(offset) == 20


def test_unmatched_records_become_rows_with_their_reason(sink_settings, settings):
    topic = f"test.unmatched.{uuid.uuid4().hex[:8]}"
    settings.KAFKA_UNMATCHED_TOPIC = topic
    settings.KAFKA_TOPIC_PARTITIONS = 2
    create_topics([topic])
    value = {
        "reason": {"reason": "unknown_event", "message": "No contract", "event_name": "x"},
        "source": {"topic": "events.raw", "partition": 0, "offset": 1},
        "seen_at": "2026-11-25T10:00:00+00:00",
        "event": raw_event(1, "2026-11-24T09:00:00.000000+00:00"),
    }
    produce(topic, [(None, json.dumps(value).encode())] * 10)
    root = sink_settings.SINK_ROOT
    run_until(build("unmatched"), lambda: len(read_lines(root)) >= 10)
    rows = read_lines(root, "unmatched/dt=2026-11-24/hour=09/*.gz")
    assert len(rows) == 10
    assert rows[0]["reason"] == "unknown_event" and rows[0]["client_app"] == "shop-web"
    assert rows[0]["raw_event"]["event_id"] == value["event"]["event_id"]


def publish(team, event_name: str, schema: dict):
    from schemas_admin.models import ContractVersion, EventContract
    from schemas_admin.publishing import push

    contract = EventContract.objects.create(
        event_name=event_name,
        namespace="com.shop.events",
        team=team,
        output_topic=f"test.{event_name}.{uuid.uuid4().hex[:8]}",
    )
    version = ContractVersion.objects.create(
        contract=contract,
        version=1,
        schema=schema,
        status=ContractVersion.Status.PUBLISHED,
        registry_subject=contract.registry_subject,
    )
    return contract, push(version)


def dead_letters(kind: str, reason: str) -> float:
    value = REGISTRY.get_sample_value("sink_dead_letters_total", {"sink": kind, "reason": reason})
    return value or 0.0


def test_matched_records_become_avro_and_parquet_rows_and_bad_ones_dead_letters(
    sink_settings, registry_url, team
):
    sink_settings.KAFKA_TOPIC_PARTITIONS = 2
    contract, schema_id = publish(team, "order_placed", ORDER)
    records = [
        (f"device-{i % 5}".encode(), wire(schema_id, ORDER, order(i)), envelope_header(i))
        for i in range(300)
    ]
    records.append((None, b"\x07 not the wire format", None))
    records.append((None, wire(987654, ORDER, order(0)), envelope_header(0)))
    from confluent_kafka import Producer

    producer = Producer({**settings.KAFKA_CLIENT_CONFIG, "enable.idempotence": True})
    for key, value, headers in records:
        producer.produce(contract.output_topic, value, key, headers=headers)
    assert producer.flush(30) == 0
    root = sink_settings.SINK_ROOT
    before = dead_letters("avro", "corrupt_frame"), dead_letters("avro", "unknown_schema")

    def avro_rows():
        return [
            row
            for path in root.glob("avro/order_placed/dt=2026-11-25/hour=10/*.avro")
            for row in avro.datafile.DataFileReader(
                io.BytesIO(path.read_bytes()), avro.io.DatumReader()
            )
        ]

    run_until(
        build("avro"),
        lambda: len(avro_rows()) >= 300 and len(read_lines(root, "errors/**/*.gz")) >= 2,
    )
    rows = avro_rows()
    assert sorted(row["order_id"] for row in rows) == sorted(f"o-{i}" for i in range(300))
    assert {row["client_app"] for row in rows} == {"shop-ios"}
    errors = read_lines(root, "errors/avro/**/*.gz")
    assert sorted(e["reason"] for e in errors) == ["corrupt_frame", "unknown_schema"]
    assert (dead_letters("avro", "corrupt_frame"), dead_letters("avro", "unknown_schema")) == (
        before[0] + 1,
        before[1] + 1,
    )

    def parquet_rows():
        paths = sorted(root.glob("parquet/order_placed/**/*.parquet"))
        return [r for p in paths for r in pq.read_table(p).to_pylist()]

    run_until(build("parquet"), lambda: len(parquet_rows()) >= 300)
    rows = parquet_rows()
    assert sorted(row["order_id"] for row in rows) == sorted(f"o-{i}" for i in range(300))
    first = pq.read_schema(next(root.glob("parquet/order_placed/**/*.parquet")))
    assert first.field("paid_at").type == pa.timestamp("ms", "UTC")


def test_contracts_published_while_running_are_picked_up(sink_settings, registry_url, team):
    sink_settings.KAFKA_TOPIC_PARTITIONS = 1
    first, first_id = publish(team, "order_placed", ORDER)
    produce_matched(first.output_topic, first_id, 5)
    root = sink_settings.SINK_ROOT
    published = []

    def done() -> bool:
        if not published and list(root.glob("avro/order_placed/**/*.avro")):
            second, second_id = publish(team, "order_shipped", {**ORDER, "name": "OrderShipped"})
            produce_matched(second.output_topic, second_id, 5)
            published.append(second)
        return bool(list(root.glob("avro/order_shipped/**/*.avro")))

    run_until(build("avro"), done)
    assert published


def produce_matched(topic: str, schema_id: int, count: int) -> None:
    from confluent_kafka import Producer

    producer = Producer(settings.KAFKA_CLIENT_CONFIG)
    for i in range(count):
        producer.produce(topic, wire(schema_id, ORDER, order(i)), headers=envelope_header(i))
    assert producer.flush(30) == 0
