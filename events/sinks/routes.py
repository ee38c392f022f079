"""One Kafka record -> the bucket (file) it belongs to and the item that file holds.

The business step of a sink: nothing here knows about offsets, commits or storage. Routing is a
function of the record alone (its value, headers and timestamp, and the registry's immutable
schemas), so that a replay after a crash puts every record in the same bucket again: the
exactly-once protocol (``progress``) depends on it.

Records that cannot be written (a corrupt frame, a schema id the registry does not know, a
malformed envelope header, a raw value that is not a JSON object) become dead letters: a JSON
line in ``errors/<sink>/...`` with the reason and the record itself, in base64.
"""

import base64
import contextlib
import hashlib
import io
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import fastavro
import msgspec
from confluent_kafka import Message

from events.envelope import ENVELOPE_HEADER

from . import envelope, layout
from .formats import (
    DEFAULT_LEVEL,
    INLINE,
    AvroFile,
    Compression,
    FileWriter,
    JsonLinesFile,
    ParquetFile,
)
from .metrics import DEAD_LETTERS
from .schemas import SchemaBook, UnknownSchema


class Bucket(NamedTuple):
    """The files a record may go to: same kind, same folder, same schema version."""

    kind: str  # raw, unmatched, avro, parquet or errors
    folder: str
    schema_id: int = 0


@lru_cache(maxsize=65536)
def bucket_id(bucket: Bucket) -> str:
    """A short stable id of a bucket, for the commit metadata (64 bits: no collision among the
    few dozen buckets a partition has open at once)."""
    text = f"{bucket.kind}|{bucket.folder}|{bucket.schema_id}".encode()
    return hashlib.blake2b(text, digest_size=8).hexdigest()


class Routed(NamedTuple):
    bucket: Bucket
    item: Any
    size: int


class DeadLetter(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Times(msgspec.Struct):
    event_time: Any = None
    timestamp: Any = None


class UnmatchedReason(msgspec.Struct):
    reason: str | None = None
    message: str | None = None
    event_name: str | None = None
    event_id: str | None = None
    contract_version: int | None = None
    field: str | None = None
    group_field: str | None = None
    expected: str | None = None
    actual: str | None = None


class UnmatchedSource(msgspec.Struct):
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


class UnmatchedRecord(msgspec.Struct):
    reason: UnmatchedReason
    source: UnmatchedSource = msgspec.field(default_factory=UnmatchedSource)
    seen_at: str | None = None
    event: msgspec.Raw = msgspec.Raw()  # empty when absent
    raw_text: str | None = None
    raw_base64: str | None = None


class RawEnvelope(msgspec.Struct):
    """The envelope columns of the unmatched table, from the raw event when it has them."""

    event_time: Any = None
    timestamp: Any = None
    received_at: Any = None
    client_app: Any = None
    client_id: Any = None
    platform: Any = None
    app_version: Any = None


_times = msgspec.json.Decoder(Times)
_unmatched = msgspec.json.Decoder(UnmatchedRecord)
_raw_envelope = msgspec.json.Decoder(RawEnvelope)
_encode = msgspec.json.Encoder().encode


class Route:
    """Routes the records of one sink kind; ``open`` makes a writer for a bucket."""

    kind: str

    def __init__(
        self,
        file_layout: layout.Layout,
        gzip_level: int = DEFAULT_LEVEL,
        compression: Compression = INLINE,
    ) -> None:
        self.layout = file_layout
        self.gzip_level = gzip_level
        self.compression = compression
        self._buckets: dict[tuple, Bucket] = {}  # a few buckets take nearly all records

    def __call__(self, message: Message) -> Routed:
        try:
            return self.route(message)
        except DeadLetter as letter:
            DEAD_LETTERS.labels(self.kind, letter.reason).inc()
            return self.dead_letter(message, letter)

    def route(self, message: Message) -> Routed:
        raise NotImplementedError

    def open(self, bucket: Bucket) -> FileWriter:
        return JsonLinesFile(self.gzip_level, self.compression)

    def bucket(self, kind: str, prefix: str, hour: str | None, message: Message) -> Bucket:
        """The bucket of ``kind`` in ``prefix``'s folder for the hour (the record's Kafka
        timestamp's when None)."""
        hour = hour or layout.hour_of_millis(message.timestamp()[1])
        key = (kind, prefix, hour)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._buckets.clear()
            bucket = Bucket(kind, f"{prefix}/{self.layout.time_folder(hour)}")
            self._buckets[key] = bucket
        return bucket

    def dead_letter(self, message: Message, letter: DeadLetter) -> Routed:
        millis = message.timestamp()[1]
        line = _encode(
            {
                "reason": letter.reason,
                "message": str(letter),
                "sink": self.kind,
                "topic": message.topic(),
                "partition": message.partition(),
                "offset": message.offset(),
                "timestamp": datetime.fromtimestamp(max(millis, 0) / 1000, UTC).isoformat(),
                "key_base64": _b64(message.key()),
                "value_base64": _b64(message.value()),
                "headers": {name: _b64(value) for name, value in message.headers() or ()},
            }
        )
        return Routed(self.bucket("errors", f"errors/{self.kind}", None, message), line, len(line))


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


_hour = layout.utc_hour


class RawRoute(Route):
    """Raw events as they are, one JSON object a line, in their event time's folder."""

    kind = "raw"

    def route(self, message: Message) -> Routed:
        value = message.value() or b""
        try:
            times = _times.decode(value)
        except msgspec.DecodeError as exc:  # not JSON, or not an object
            raise DeadLetter(
                "not_a_json_object", f"The raw record is not a JSON object: {exc}"
            ) from exc
        if b"\n" in value:  # pretty-printed JSON: one line per record in JSON Lines
            value = _encode(msgspec.json.decode(value))
        hour = _hour(times.event_time) or _hour(times.timestamp)
        return Routed(self.bucket("raw", "raw", hour, message), value, len(value))


class UnmatchedRoute(Route):
    """Unmatched records flattened: the reason's fields, the source, and the raw event."""

    kind = "unmatched"

    def route(self, message: Message) -> Routed:
        try:
            record = _unmatched.decode(message.value() or b"")
        except msgspec.DecodeError as exc:
            raise DeadLetter("not_an_unmatched_record", f"Not an unmatched record: {exc}") from exc
        found = RawEnvelope()
        raw_event = record.event if bytes(record.event) not in (b"", b"null") else None
        if raw_event is not None:
            # A JSON value that is not an object is kept in raw_event all the same.
            with contextlib.suppress(msgspec.DecodeError):
                found = _raw_envelope.decode(raw_event)
        line = {
            **msgspec.structs.asdict(record.reason),
            "source_topic": record.source.topic,
            "source_partition": record.source.partition,
            "source_offset": record.source.offset,
            "seen_at": record.seen_at,
            **msgspec.structs.asdict(found),
            "raw_event": raw_event,
            "raw_text": record.raw_text,
            "raw_base64": record.raw_base64,
        }
        value = _encode(line)
        hour = _hour(found.event_time) or _hour(found.timestamp) or _hour(record.seen_at)
        return Routed(self.bucket("unmatched", "unmatched", hour, message), value, len(value))


class MatchedRoute(Route):
    """Matched records (Confluent wire format) with their envelope, one schema version a file.

    ``avro``: the row is the record's Avro body followed by the envelope fields' encoding,
    which is the binary form of the row schema (contract fields, then envelope fields); the body
    is not decoded. ``parquet``: the body is decoded (fastavro) into a row of Arrow columns.
    """

    def __init__(
        self,
        kind: str,
        file_layout: layout.Layout,
        schemas: SchemaBook,
        event_names: Callable[[str], str | None],
        avro_codec: str = "deflate",
        parquet_compression: str = "snappy",
        gzip_level: int = DEFAULT_LEVEL,
        compression: Compression = INLINE,
    ) -> None:
        super().__init__(file_layout, gzip_level, compression)
        self.kind = kind
        self.schemas = schemas
        self.event_names = event_names
        self.avro_codec = avro_codec
        self.parquet_compression = parquet_compression

    def open(self, bucket: Bucket) -> FileWriter:
        if bucket.kind == "avro":
            return AvroFile(
                self.schemas.get(bucket.schema_id).row_schema_json,
                self.avro_codec,
                self.gzip_level,
                self.compression,
            )
        if bucket.kind == "parquet":
            schema = self.schemas.get(bucket.schema_id)
            return ParquetFile(schema.arrow_schema, schema.record_batch, self.parquet_compression)
        return super().open(bucket)

    def _bucket(self, message: Message, schema_id: int, found: envelope.Envelope) -> Bucket:
        """The bucket of a record, from its topic, schema id and event-time hour (cached: a few
        of them take nearly all records)."""
        moment = found.event_time or found.timestamp
        if moment is None:
            moment = datetime.fromtimestamp(max(message.timestamp()[1], 0) / 1000, UTC)
        elif moment.tzinfo is not UTC:
            moment = moment.astimezone(UTC)
        topic = message.topic()
        key = (topic, schema_id, found.event, moment.year, moment.month, moment.day, moment.hour)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._buckets.clear()
            event = self.event_names(topic) or found.event or topic
            hour = f"{key[3]:04d}-{key[4]:02d}-{key[5]:02d}T{key[6]:02d}"
            folder = f"{self.kind}/{event}/{self.layout.time_folder(hour)}"
            bucket = Bucket(self.kind, folder, schema_id)
            self._buckets[key] = bucket
        return bucket

    def route(self, message: Message) -> Routed:
        value = message.value()
        if value is None or len(value) < 5 or value[0] != 0:
            raise DeadLetter(
                "corrupt_frame", "Not the Confluent wire format (magic byte 0, schema id, body)."
            )
        schema_id = int.from_bytes(value[1:5], "big")
        try:
            row_schema = self.schemas.get(schema_id)
        except UnknownSchema as exc:
            raise DeadLetter("unknown_schema", str(exc)) from exc
        header = None
        for name, content in message.headers() or ():
            if name == ENVELOPE_HEADER:
                header = content
        try:
            found = envelope.decode(header)
        except msgspec.DecodeError as exc:
            raise DeadLetter("bad_envelope", f"The envelope header is malformed: {exc}") from exc
        bucket = self._bucket(message, schema_id, found)
        if self.kind == "avro":
            datum = value[5:] + envelope.avro_datum(found)
            return Routed(bucket, datum, len(datum))
        body = io.BytesIO(value[5:])
        try:
            decoded = fastavro.schemaless_reader(body, row_schema.decode_schema, None)
        except Exception as exc:  # fastavro raises what the bytes happen to trigger
            raise DeadLetter("corrupt_body", f"The Avro body does not decode: {exc!r}") from exc
        if body.tell() != len(value) - 5:
            raise DeadLetter("corrupt_body", "The Avro body has bytes past the record's end.")
        return Routed(bucket, (row_schema.convert(decoded), found), len(value))
