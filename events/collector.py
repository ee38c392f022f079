"""Turning a request body into Kafka records: the collector's logic, apart from HTTP.

Each event is checked straight from its bytes (msgspec), and stored as the client sent it with
the server's fields spliced in before its closing brace: an event is not decoded into Python
objects and encoded again, unless its ``event_id`` must be rewritten in canonical form.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import msgspec
import uuid_utils
from django.conf import settings
from rest_framework.exceptions import ParseError

from . import envelope
from .exceptions import PayloadTooLarge

_FIRST_CHARACTER = re.compile(rb"[ \t\r\n]*(.)", re.DOTALL)  # without copying the body
_decode_batch = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_one = msgspec.json.Decoder(msgspec.Raw).decode
_decode_envelope = msgspec.json.Decoder(envelope.Envelope).decode
# Dates as RFC 3339 (UTC as "Z"), encoded in C: Python's isoformat() was a tenth of the work.
_encode = msgspec.json.Encoder().encode


class Record(NamedTuple):
    """An accepted event, ready to produce: ``index`` is its position in the request."""

    index: int
    event_id: str
    key: bytes
    value: bytes


class ItemError(NamedTuple):
    index: int
    code: str
    field: str | None
    message: str


@dataclass
class Collected:
    records: list[Record] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)

    def as_json(self) -> bytes:
        """The response body: what was accepted (with the event ids) and what was not, why."""
        return msgspec.json.encode(
            {
                "accepted": len(self.records),
                "rejected": len(self.errors),
                "events": [{"index": r.index, "event_id": r.event_id} for r in self.records],
                "errors": [e._asdict() for e in self.errors],
            }
        )


def collect(body: bytes, client_app: str, received_at: datetime) -> Collected:
    """Check each event of a request body (one object, or an array of them).

    Invalid events are reported by index; the valid rest become records.
    """
    items = _items(body)
    server_fields = (
        b',"received_at":'
        + _encode(received_at)
        + b',"client_app":'
        + _encode(client_app)
        + b',"event_time":'
    )
    max_bytes = settings.COLLECTOR_MAX_EVENT_BYTES  # read once: settings access is slow per event
    collected = Collected()
    records, errors = collected.records, collected.errors
    for index, item in enumerate(items):
        raw = bytes(item)
        try:
            checked = _decode_envelope(raw)
        except msgspec.ValidationError as exc:
            errors.append(_invalid(index, raw, exc))
            continue
        if checked.context is not None:
            problem = envelope.context_too_large(raw)
            if problem:
                errors.append(ItemError(index, "invalid", "context", problem))
                continue
        event_id, tail = checked.event_id, b"}"
        if event_id is None:
            # uuid_utils makes the same random (version 4) UUIDs as uuid4(), at a tenth of its cost.
            event_id = str(uuid_utils.uuid4())
            tail = b',"event_id":"' + event_id.encode() + b'"}'
        elif len(event_id) != 36 or event_id != event_id.lower():
            event_id = str(uuid.UUID(event_id))  # the one form, so that resends de-duplicate
            raw = _with_event_id(raw, event_id)
        moment = envelope.event_time(checked.timestamp, checked.sent_at, received_at)
        value = b"".join((raw[:-1], server_fields, _encode(moment), tail))
        if len(value) > max_bytes:
            message = f"The event is {len(value)} bytes; at most {max_bytes} are allowed."
            errors.append(ItemError(index, "too_large", None, message))
            continue
        key = envelope.record_key(client_app, checked.client_id, event_id)
        records.append(Record(index, event_id, key, value))
    return collected


def _items(body: bytes) -> list[msgspec.Raw]:
    opening = _FIRST_CHARACTER.match(body)
    first = opening.group(1) if opening else b""
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


def _invalid(index: int, raw: bytes, error: msgspec.ValidationError) -> ItemError:
    if raw[:1] != b"{":
        return ItemError(index, "not_an_object", None, "An event must be a JSON object.")
    return ItemError(index, "invalid", envelope.error_field(error), str(error))


def _with_event_id(raw: bytes, event_id: str) -> bytes:
    event = msgspec.json.decode(raw)
    event["event_id"] = event_id
    return msgspec.json.encode(event)
