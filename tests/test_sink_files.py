"""The sinks' files read back with independent readers, and the Athena DDL matching them.

Records are routed and written as the sinks do (no Kafka needed here): the Apache ``avro``
package reads the Avro files, pyarrow the Parquet files, DuckDB and pyarrow the JSON Lines.
"""

import base64
import gzip
import io
import json
import random
import re
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal

import avro.datafile
import avro.io
import duckdb
import fastavro
import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest

from events.sinks import athena, envelope
from events.sinks.formats import CHUNK_BYTES, AvroFile, Compression, JsonLinesFile, avro_long
from events.sinks.layout import Layout, LayoutError, partition_columns, utc_hour
from events.sinks.routes import MatchedRoute, RawRoute, UnmatchedRoute
from events.sinks.schemas import RowSchema, SchemaBook
from tests.sink_helpers import ORDER, Record, Registry, envelope_header, order, wire

LAYOUT = Layout("dt=%Y-%m-%d/hour=%H")
TOPIC = "shop.order_placed"


def matched_route(kind: str, **options) -> MatchedRoute:
    book = SchemaBook(Registry({7: ORDER}))
    return MatchedRoute(kind, LAYOUT, book, {TOPIC: "order_placed"}.get, **options)


def write(route, records) -> tuple[str, bytes]:
    """Route the records, check they share one file, and return its folder and bytes."""
    routed = [route(record) for record in records]
    assert len({r.bucket for r in routed}) == 1, {r.bucket for r in routed}
    writer = route.open(routed[0].bucket)
    for r in routed:
        writer.add(r.item, r.size)
    return routed[0].bucket.folder, writer.finish()


def orders(count: int) -> list[Record]:
    return [Record(TOPIC, 0, i, wire(7, ORDER, order(i)), envelope_header(i)) for i in range(count)]


@pytest.mark.parametrize("codec", ["deflate", "snappy", "null"])
def test_avro_files_hold_the_contract_fields_and_the_envelope(codec):
    folder, data = write(matched_route("avro", avro_codec=codec), orders(3000))
    assert folder == "avro/order_placed/dt=2026-11-25/hour=10"
    reader = avro.datafile.DataFileReader(io.BytesIO(data), avro.io.DatumReader())
    assert reader.meta["avro.codec"].decode() == codec
    rows = list(reader)
    assert len(rows) == 3000
    first = rows[1]
    assert first["order_id"] == "o-1"
    assert first["orderTotal"] == Decimal("13.34")
    assert first["paid_at"] == datetime(2026, 11, 25, 10, 0, 1, 123000, tzinfo=UTC)
    assert first["properties_platform"] == "checkout-web"  # the contract's own platform
    assert first["platform"] == "ios"  # the envelope's
    assert first["event_id"] == "00000000-0000-4000-8000-000000000001"
    assert first["event_time"] == datetime(2026, 11, 25, 10, 0, 0, 750000, tzinfo=UTC)
    assert first["timestamp"] == datetime(2026, 11, 25, 10, 0, 0, 250000, tzinfo=UTC)
    assert first["contract_version"] == 1
    assert json.loads(first["context"]) == {"app": {"build": "77"}, "userAgent": "Mozilla"}
    assert first["user_id"] is None
    assert [row["order_id"] for row in rows] == [f"o-{i}" for i in range(3000)]


def test_parquet_files_keep_logical_types():
    folder, data = write(matched_route("parquet"), orders(2500))
    assert folder == "parquet/order_placed/dt=2026-11-25/hour=10"
    table = pq.read_table(pa.BufferReader(data))
    schema = table.schema
    assert schema.field("orderTotal").type == pa.decimal128(10, 2)
    assert schema.field("paid_at").type == pa.timestamp("ms", "UTC")
    assert schema.field("ship_on").type == pa.date32()
    assert schema.field("event_time").type == pa.timestamp("ms", "UTC")
    assert schema.field("items").type == pa.list_(
        pa.struct([("sku", pa.string()), ("qty", pa.int32())])
    )
    rows = table.to_pylist()
    assert len(rows) == 2500
    row = rows[4]
    assert row["orderTotal"] == Decimal("16.34")
    assert row["ship_on"] == date(2026, 11, 30)
    assert row["ref"] == "0b7d6f3e-2c4a-4f0e-9d55-3f1c2a9b8e71"
    assert row["tags"] == [("k", "v")]
    assert row["code"] == "4" and rows[3]["code"] == '"abc"'  # a union of types: JSON text
    assert row["properties_platform"] == "checkout-web" and row["platform"] == "ios"
    assert row["received_at"] == datetime(2026, 11, 25, 10, 0, 1, tzinfo=UTC)
    assert pq.ParquetFile(pa.BufferReader(data)).metadata.num_row_groups == 1


def test_raw_json_lines_read_back_with_duckdb_and_pyarrow(tmp_path):
    events = [
        {
            "event": "signed_up",
            "event_id": f"id-{i}",
            "timestamp": "2026-11-25T23:59:00+01:00",
            "event_time": "2026-11-25T22:59:00.000000+00:00",
            "received_at": "2026-11-25T23:00:00.000000+00:00",
            "client_app": "shop-ios",
            "platform": "ios",
            "app_version": "1",
            "properties": {"planName": "pro", "seats": i},
        }
        for i in range(500)
    ]
    records = [Record("events.raw", 2, i, json.dumps(e).encode()) for i, e in enumerate(events)]
    folder, data = write(RawRoute(LAYOUT), records)
    assert folder == "raw/dt=2026-11-25/hour=22"
    path = tmp_path / "raw.jsonl.gz"
    path.write_bytes(data)
    query = f"select count(*), max(properties.seats) from '{path}'"
    assert duckdb.connect().execute(query).fetchall() == [(500, 499)]
    table = pajson.read_json(io.BytesIO(gzip.decompress(data)))
    assert table.column("event_id").to_pylist() == [e["event_id"] for e in events]


def test_unmatched_json_lines_have_the_reason_fields_as_columns(tmp_path):
    value = {
        "reason": {
            "reason": "invalid_field",
            "message": "items[0].qty: expected int",
            "event_name": "checkout_completed",
            "event_id": "e-1",
            "contract_version": 2,
            "field": "items[0].qty",
            "group_field": "items[].qty",
            "expected": "int",
            "actual": "string",
        },
        "source": {"topic": "events.raw", "partition": 3, "offset": 1234},
        "seen_at": "2026-11-25T10:00:01.123456+00:00",
        "event": {
            "event": "checkout_completed",
            "event_time": "2026-11-24T08:00:00Z",
            "platform": "web",
        },
    }
    not_json = {**value, "raw_text": "{oops", "event": None}
    records = [
        Record("events.unmatched", 0, 0, json.dumps(value).encode()),
        Record("events.unmatched", 0, 1, json.dumps(not_json).encode()),
    ]
    routed = [UnmatchedRoute(LAYOUT)(r) for r in records]
    assert routed[0].bucket.folder == "unmatched/dt=2026-11-24/hour=08"
    assert routed[1].bucket.folder == "unmatched/dt=2026-11-25/hour=10"  # seen_at instead
    writer = JsonLinesFile()
    for r in routed:
        writer.add(r.item, r.size)
    path = tmp_path / "u.jsonl.gz"
    path.write_bytes(writer.finish())
    rows = duckdb.connect().execute(
        f"select * from read_json('{path}', format='newline_delimited')"
    )
    columns = [column[0] for column in rows.description]
    found = dict(zip(columns, rows.fetchall()[0], strict=True))
    assert columns == [name for name, _ in athena.UNMATCHED_COLUMNS]
    assert found["reason"] == "invalid_field" and found["source_offset"] == 1234
    assert found["group_field"] == "items[].qty" and found["platform"] == "web"


def test_records_that_cannot_be_written_become_dead_letters_with_their_reason():
    route = matched_route("avro")
    corrupt = Record(TOPIC, 1, 5, b"\x01garbage", millis=1764064800000)
    unknown = Record(TOPIC, 1, 6, wire(99, ORDER, order(1)), envelope_header(1))
    bad_header = Record(TOPIC, 1, 7, wire(7, ORDER, order(1)), [("envelope", b"{nope")])
    letters = [route(r) for r in (corrupt, unknown, bad_header)]
    assert {r.bucket.kind for r in letters} == {"errors"}
    assert letters[0].bucket.folder == "errors/avro/dt=2025-11-25/hour=10"
    reasons = [json.loads(r.item) for r in letters]
    assert [r["reason"] for r in reasons] == ["corrupt_frame", "unknown_schema", "bad_envelope"]
    assert "no schema with id 99" in reasons[1]["message"]
    assert base64.b64decode(reasons[0]["value_base64"]) == b"\x01garbage"
    assert (reasons[2]["topic"], reasons[2]["partition"], reasons[2]["offset"]) == (TOPIC, 1, 7)
    not_an_object = RawRoute(LAYOUT)(Record("events.raw", 0, 0, b"[1, 2]", millis=0))
    assert json.loads(not_an_object.item)["reason"] == "not_a_json_object"
    corrupt_body = matched_route("parquet")(Record(TOPIC, 0, 0, b"\x00\x00\x00\x00\x07\xff"))
    assert json.loads(corrupt_body.item)["reason"] == "corrupt_body"


def test_one_schema_version_per_file():
    book = SchemaBook(Registry({7: ORDER, 8: {**ORDER, "fields": ORDER["fields"][:3]}}))
    route = MatchedRoute("avro", LAYOUT, book, lambda topic: "order_placed")
    old = route(Record(TOPIC, 0, 0, wire(7, ORDER, order(0)), envelope_header(0)))
    new_schema = {**ORDER, "fields": ORDER["fields"][:3]}
    new = route(Record(TOPIC, 0, 1, wire(8, new_schema, order(1)), envelope_header(1)))
    assert old.bucket.folder == new.bucket.folder and old.bucket != new.bucket


def columns_of(statement: str) -> list[tuple[str, str]]:
    body = statement[statement.index("(\n") + 2 : statement.index("\n)\nPARTITIONED")]
    return [tuple(re.match(r"\s*`([^`]+)` (.+?),?$", line).groups()) for line in body.splitlines()]


def test_avro_ddl_columns_and_literal_match_the_files():
    schema = RowSchema(7, ORDER)
    statement = athena.create_statement(
        athena.avro_table("order_placed", schema),
        "s3://lake/events",
        LAYOUT.partition_format,
        "NOW-1YEARS",
    )
    literal = json.loads(
        re.search(r"'avro.schema.literal'='(.*)'\)", statement).group(1).replace("\\'", "'")
    )
    _, data = write(matched_route("avro"), orders(3))
    file_schema = json.loads(
        avro.datafile.DataFileReader(io.BytesIO(data), avro.io.DatumReader()).meta["avro.schema"]
    )
    assert [f["name"] for f in literal["fields"]] == [f["name"] for f in file_schema["fields"]]
    columns = columns_of(statement)
    assert [name for name, _ in columns] == [f["name"] for f in file_schema["fields"]]
    types = dict(columns)
    assert types["orderTotal"] == "decimal(10,2)" and types["paid_at"] == "timestamp"
    assert types["items"] == "struct<sku:string,qty:int>".replace("struct", "array<struct") + ">"
    assert types["tags"] == "map<string,string>" and types["code"] == "uniontype<int,string>"
    assert [c for c in columns[-len(envelope.COLUMNS) :]] == [
        (
            name,
            "int" if name == "contract_version" else "timestamp" if kind != "string" else "string",
        )
        for name, kind in envelope.COLUMNS
    ]
    assert (
        "'storage.location.template'='s3://lake/events/avro/order_placed/dt=${dt}/hour=${hour}'"
        in statement
    )
    assert "LOCATION 's3://lake/events/avro/order_placed/'" in statement


HIVE_OF_ARROW = {
    pa.string(): "string",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.timestamp("ms", "UTC"): "timestamp",
    pa.date32(): "date",
    pa.decimal128(10, 2): "decimal(10,2)",
}


def test_parquet_ddl_columns_match_the_file_schema():
    schema = RowSchema(7, ORDER)
    statement = athena.create_statement(
        athena.parquet_table("order_placed", schema),
        "s3://lake",
        LAYOUT.partition_format,
        "2026-01-01",
    )
    _, data = write(matched_route("parquet"), orders(3))
    file_schema = pq.read_schema(pa.BufferReader(data))
    columns = columns_of(statement)
    assert [name for name, _ in columns] == file_schema.names
    for name, kind in columns:
        arrow = file_schema.field(name).type
        if arrow in HIVE_OF_ARROW:
            assert kind == HIVE_OF_ARROW[arrow], name
    assert "STORED AS PARQUET" in statement
    assert "'projection.dt.range'='2026-01-01,NOW+1DAYS'" in statement


def test_json_ddl_maps_the_raw_keys_and_projects_the_layout():
    statement = athena.create_statement(
        athena.raw_table(), "s3://lake", "year=%Y/month=%m/day=%d/hour=%H", "NOW-2YEARS"
    )
    assert [name for name, _ in columns_of(statement)] == [
        *(name for name, _ in envelope.COLUMNS),
        "properties",
    ]
    assert "'case.insensitive'='false'" in statement
    assert "PARTITIONED BY (`year` string, `month` int, `day` int, `hour` int)" in statement
    assert "'projection.year.format'='yyyy'" in statement
    assert "'projection.month.digits'='2'" in statement
    camel = athena.json_table("t", "t", [("userId", "string"), ("plan", "string")])
    camel_statement = athena.create_statement(camel, "s3://x", "dt=%Y-%m-%d", "NOW-1YEARS")
    assert "'mapping.userid'='userId'" in camel_statement
    assert "`userid` string" in camel_statement


@pytest.mark.parametrize(
    ("value", "hour"),
    [
        ("2026-11-25T10:59:59.999999+00:00", "2026-11-25T10"),
        ("2026-11-25T10:00:00Z", "2026-11-25T10"),
        ("2026-11-25T01:30:00+02:00", "2026-11-24T23"),
        ("2026-11-25T10:00:00", None),  # no offset: not an instant
        ("2026-02-30T10:00:00Z", None),  # sliced, but not a date
        ("2026-1x-25T10:00:00+00:00", None),
        ("yesterday", None),
        (12, None),
    ],
)
def test_event_time_hours(value, hour):
    assert utc_hour(value) == hour


@pytest.mark.parametrize("bad", ["dt=%Y-%m-%d/hour=%M", "%Y/%m", "dt=%Y/dt=%m", "month=%m-%d"])
def test_partition_formats_are_checked(bad):
    with pytest.raises(LayoutError):
        partition_columns(bad)


def test_contract_fields_named_like_envelope_columns_are_prefixed():
    taken = {"user_id", "properties_user_id", "order"}
    assert envelope.column_name("user_id", taken) == "properties_properties_user_id"
    assert envelope.column_name("order", taken) == "order"
    assert envelope.column_name("properties_user_id", taken) == "properties_user_id"


def many_lines(count: int) -> list[bytes]:
    rng = random.Random(5)
    return [
        json.dumps(
            {"event_id": f"id-{i}", "seats": rng.randint(0, 10**9), "pad": "x" * (i % 700)}
        ).encode()
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def compression_pool():
    compression = Compression(2)
    yield compression
    compression.pool.shutdown()


@pytest.mark.parametrize("level", [0, 1, 6])
def test_json_lines_compressed_in_chunks_are_one_gzip_member(tmp_path, compression_pool, level):
    """Several chunks, compressed in other threads or inline: the same bytes, one gzip member
    of one deflate stream, read back whole by zlib, DuckDB and pyarrow."""
    lines = many_lines(12_000)
    assert sum(map(len, lines)) > 3 * CHUNK_BYTES
    outputs = []
    for compression in (compression_pool, Compression(0)):
        writer = JsonLinesFile(level, compression)
        for line in lines:
            writer.add(line, len(line))
        assert writer.size < writer.memory
        outputs.append(writer.finish())
    assert outputs[0] == outputs[1]
    data = outputs[0]
    unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert unpacker.decompress(data) == b"\n".join(lines) + b"\n"
    assert unpacker.eof and unpacker.unused_data == b""  # one member, nothing after it
    assert data[:4] == b"\x1f\x8b\x08\x00"
    path = tmp_path / "lines.jsonl.gz"
    path.write_bytes(data)
    query = f"select count(*), max(seats) from '{path}'"
    expected_max = max(json.loads(line)["seats"] for line in lines)
    assert duckdb.connect().execute(query).fetchall() == [(len(lines), expected_max)]
    table = pajson.read_json(path)
    assert table.column("event_id").to_pylist() == [f"id-{i}" for i in range(len(lines))]


def test_level_one_files_are_larger_than_level_six_but_not_by_much():
    lines = many_lines(6_000)
    sizes = {}
    for level in (1, 6):
        writer = JsonLinesFile(level)
        for line in lines:
            writer.add(line, len(line))
        sizes[level] = len(writer.finish())
    assert sizes[6] < sizes[1] < 2 * sizes[6]


@pytest.mark.parametrize("codec", ["deflate", "snappy", "null"])
def test_avro_blocks_compressed_in_other_threads_read_back(compression_pool, codec):
    text = "abcdef" * 40
    datums = [avro_long(i) + avro_long(len(text)) + text.encode() for i in range(15_000)]
    assert sum(map(len, datums)) > 3 * CHUNK_BYTES
    schema = json.dumps(
        {
            "type": "record",
            "name": "R",
            "fields": [{"name": "n", "type": "int"}, {"name": "s", "type": "string"}],
        }
    )
    writer = AvroFile(schema, codec, 1, compression_pool)
    for datum in datums:
        writer.add(datum, len(datum))
    data = writer.finish()
    reader = avro.datafile.DataFileReader(io.BytesIO(data), avro.io.DatumReader())
    rows = list(reader)
    assert len(rows) == len(datums)
    assert rows == [{"n": i, "s": text} for i in range(len(datums))]


def test_avro_files_written_twice_hold_the_same_records():
    datums = [bytes([2 * i]) for i in range(60)]
    schema = json.dumps({"type": "record", "name": "R", "fields": [{"name": "n", "type": "int"}]})
    files = [AvroFile(schema), AvroFile(schema)]
    for writer in files:
        for datum in datums:
            writer.add(datum, 1)
    readers = [
        avro.datafile.DataFileReader(io.BytesIO(f.finish()), avro.io.DatumReader()) for f in files
    ]
    expected = [{"n": i} for i in range(60)]
    assert [list(reader) for reader in readers] == [expected, expected]


def test_the_envelope_encoding_is_avro_binary_of_its_fields():
    schema = fastavro.parse_schema(
        {"type": "record", "name": "Envelope", "fields": envelope.avro_fields()}
    )
    for header in (envelope_header(3)[0][1], b'{"event": "x", "user_id": "\\u00e9t\\u00e9"}', None):
        found = envelope.decode(header)
        expected = io.BytesIO()
        fields = {name: getattr(found, name) for name, _ in envelope.COLUMNS}
        context = bytes(found.context)
        fields["context"] = None if context in (b"", b"null") else context.decode()
        fastavro.schemaless_writer(expected, schema, fields)
        assert envelope.avro_datum(found) == expected.getvalue()


def test_avro_long_is_the_zig_zag_varint_of_the_spec():
    schema = fastavro.parse_schema("long")
    values = [0, 1, -1, 63, -64, 64, -65, 8191, 8192, 16383, 16384, 2**28, 1764064800123]
    values += [-(2**40), 2**62, 2**63 - 1, -(2**63)]
    for value in values:
        expected = io.BytesIO()
        fastavro.schemaless_writer(expected, schema, value)
        assert avro_long(value) == expected.getvalue(), value
