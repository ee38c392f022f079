"""The envelope columns: every Avro and Parquet row carries them beside the contract's fields.

Matched records bring the envelope in their ``envelope`` header (compact JSON of every envelope
field except ``properties``). Column names are the envelope's own; a contract field with one of
these names is written as ``properties_<name>`` (see ``column_name``), so the envelope columns
mean the same thing in every table.
"""

from datetime import UTC, datetime

import msgspec
from msgspec.structs import astuple

from events.envelope import ENVELOPE_FIELDS, Timestamp

from .formats import avro_long

TIMESTAMP = {"type": "long", "logicalType": "timestamp-millis"}
TYPES: dict[str, object] = {
    "contract_version": "int",
    "timestamp": TIMESTAMP,
    "sent_at": TIMESTAMP,
    "received_at": TIMESTAMP,
    "event_time": TIMESTAMP,
    # Other fields are strings; the client's context object is kept as JSON text.
}
# (column, Avro type of its non-null branch), in the order they follow the contract's fields.
COLUMNS: list[tuple[str, object]] = [(name, TYPES.get(name, "string")) for name in ENVELOPE_FIELDS]
NAMES = frozenset(name for name, _ in COLUMNS)
PROPERTY_PREFIX = "properties_"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Envelope(msgspec.Struct):
    """The ``envelope`` header, decoded; RFC 3339 times become aware datetimes."""

    event: str | None = None
    event_id: str | None = None
    contract_version: int | None = None
    timestamp: Timestamp | None = None
    sent_at: Timestamp | None = None
    received_at: Timestamp | None = None
    event_time: Timestamp | None = None
    client_app: str | None = None
    client_id: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    platform: str | None = None
    app_version: str | None = None
    context: msgspec.Raw = msgspec.Raw()  # empty when absent


EMPTY = Envelope()
_decoder = msgspec.json.Decoder(Envelope)


def decode(header: bytes | None) -> Envelope:
    """The envelope of a matched record; raises ``msgspec.DecodeError`` when it is malformed."""
    if header is None:
        return EMPTY
    return _decoder.decode(header)


def avro_fields() -> list[dict]:
    return [{"name": name, "type": ["null", kind], "default": None} for name, kind in COLUMNS]


def column_name(field: str, taken: set[str]) -> str:
    """The column of a contract field: its own name, or ``properties_<name>`` when the name is
    an envelope column (prefixed again while the result is taken by another field)."""
    name = field
    while name in NAMES or (name != field and name in taken):
        name = PROPERTY_PREFIX + name
    return name


NULL, PRESENT = b"\x00", b"\x02"  # the union's branch: null, or the column's type
_SHARED: dict[tuple, tuple[bytes, bytes, bytes]] = {}  # see avro_datum
_SHARED_MAX = 10_000

if [name for name, _ in COLUMNS] != list(Envelope.__struct_fields__):
    raise ImportError("events.sinks.envelope.Envelope must list the envelope fields in order")


def _string(value: str | None) -> bytes:
    if value is None:
        return NULL
    data = value.encode()
    return PRESENT + avro_long(len(data)) + data


def _millis(value: datetime | None) -> bytes:
    if value is None:
        return NULL
    delta = value - EPOCH
    return PRESENT + avro_long(
        delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
    )


def avro_datum(envelope: Envelope) -> bytes:
    """The envelope fields' Avro binary encoding: each a union of null (branch 0) and its type
    (branch 1). It is the tail of an Avro row whose head is the contract's body, and the Avro
    sink's main cost per record. Written here rather than with fastavro, which spends 25-30 µs
    on these 14 unions; the fields a client repeats in every event (event, version, app,
    client, users, platform, context) are encoded once per combination and reused."""
    values = astuple(envelope)  # in the columns' order (checked above)
    event, event_id, version, timestamp, sent_at, received_at, event_time = values[:7]
    described = values[7:13]  # client_app, client_id, user_id, anonymous_id, platform, app_version
    context = bytes(values[13])
    key = (event, version, *described, context)
    shared = _SHARED.get(key)
    if shared is None:
        if len(_SHARED) >= _SHARED_MAX:
            _SHARED.clear()
        shared = _SHARED[key] = (
            _string(event),
            NULL if version is None else PRESENT + avro_long(version),
            b"".join(map(_string, described))
            + (NULL if context in (b"", b"null") else PRESENT + avro_long(len(context)) + context),
        )
    return b"".join(
        (
            shared[0],
            _string(event_id),
            shared[1],
            _millis(timestamp),
            _millis(sent_at),
            _millis(received_at),
            _millis(event_time),
            shared[2],
        )
    )
