"""Turning a request body into Kafka records: the collector's logic, apart from HTTP.

Each event is checked straight from its bytes (msgspec), and stored as the client sent it with
the server's fields spliced in before its closing brace: an event is not decoded into Python
objects and encoded again, unless its ``event_id`` must be rewritten in canonical form.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import uuid_utils
from django.conf import settings
from rest_framework.exceptions import ParseError

from . import envelope
from .exceptions import PayloadTooLarge

_decode_batch = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_one = msgspec.json.Decoder(msgspec.Raw).decode
_decode_envelope = msgspec.json.Decoder(envelope.Envelope).decode


@dataclass(frozen=True)
class Record:
    """An accepted event, ready to produce: ``index`` is its position in the request."""

    index: int
    event_id: str
    key: bytes
    value: bytes


@dataclass(frozen=True)
class ItemError:
    index: int
    code: str
    field: str | None
    message: str


@dataclass
class Collected:
    records: list[Record] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)

    def as_response(self) -> dict[str, Any]:
        return {
            "accepted": len(self.records),
            "rejected": len(self.errors),
            "events": [{"index": r.index, "event_id": r.event_id} for r in self.records],
            "errors": [
                {"index": e.index, "code": e.code, "field": e.field, "message": e.message}
                for e in self.errors
            ],
        }


def collect(body: bytes, client_app: str, received_at: datetime) -> Collected:
    """Check each event of a request body (one object, or an array of them).

    Invalid events are reported by index; the valid rest become records.
    """
    items = _items(body)
    stamp = _Stamp(client_app, received_at)
    max_bytes = settings.COLLECTOR_MAX_EVENT_BYTES  # read once: settings access is slow per event
    collected = Collected()
    for index, item in enumerate(items):
        try:
            collected.records.append(_record(index, bytes(item), stamp, max_bytes))
        except _Rejected as rejected:
            collected.errors.append(rejected.error)
    return collected


def _items(body: bytes) -> list[msgspec.Raw]:
    first = body.lstrip()[:1]
    try:
        if first == b"[":
            items = _decode_batch(body)
            _check_batch_size(len(items))
            return items
        if first == b"{":
            return [_decode_one(body)]
        msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise ParseError(f"Malformed JSON: {exc}.") from None
    raise ParseError("Send one event as a JSON object, or a batch as an array of objects.")


def _check_batch_size(size: int) -> None:
    limit = settings.COLLECTOR_MAX_BATCH_SIZE
    if size == 0:
        raise ParseError("The batch is empty.")
    if size > limit:
        raise PayloadTooLarge(f"The batch has {size} events; at most {limit} are allowed.")


class _Stamp:
    """The server's fields, the same for every event of a request."""

    def __init__(self, client_app: str, received_at: datetime) -> None:
        self.client_app = client_app
        self.received_at = received_at
        self.fields = (
            b',"received_at":"'
            + _iso(received_at)
            + b'","client_app":'
            + msgspec.json.encode(client_app)
        )


class _Rejected(Exception):
    def __init__(self, error: ItemError) -> None:
        self.error = error


def _record(index: int, raw: bytes, stamp: _Stamp, max_bytes: int) -> Record:
    if raw[:1] != b"{":
        raise _Rejected(ItemError(index, "not_an_object", None, "An event must be a JSON object."))
    try:
        checked = _decode_envelope(raw)
    except msgspec.ValidationError as exc:
        raise _Rejected(ItemError(index, "invalid", envelope.error_field(exc), str(exc))) from None
    if checked.context is not None:
        problem = envelope.context_too_large(raw)
        if problem:
            raise _Rejected(ItemError(index, "invalid", "context", problem))

    event_id, extra = checked.event_id, b""
    if event_id is None:
        # uuid_utils makes the same random (version 4) UUIDs as uuid4(), at a tenth of its cost.
        event_id = str(uuid_utils.uuid4())
        extra = b',"event_id":"' + event_id.encode() + b'"'
    elif len(event_id) != 36 or event_id != event_id.lower():
        event_id = str(uuid.UUID(event_id))  # the one form, so that resends de-duplicate
        raw = _with_event_id(raw, event_id)
    event_time = envelope.event_time(checked.timestamp, checked.sent_at, stamp.received_at)
    value = b"".join(
        (raw[:-1], stamp.fields, b',"event_time":"', _iso(event_time), b'"', extra, b"}")
    )
    if len(value) > max_bytes:
        message = f"The event is {len(value)} bytes; at most {max_bytes} are allowed."
        raise _Rejected(ItemError(index, "too_large", None, message))
    key = envelope.record_key(stamp.client_app, checked.client_id, event_id)
    return Record(index, event_id, key, value)


def _with_event_id(raw: bytes, event_id: str) -> bytes:
    event = msgspec.json.decode(raw)
    event["event_id"] = event_id
    return msgspec.json.encode(event)


def _iso(moment: datetime) -> bytes:
    return moment.isoformat(timespec="microseconds").encode()
