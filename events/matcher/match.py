"""One raw event -> its contract's Avro record, or the precise reason it matches none."""

import io
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import msgspec
from fastavro import schemaless_writer
from msgspec import UNSET

from events.envelope import ENVELOPE_HEADER, StoredEvent, record_key

from .contracts import Contract, ContractBook, Version
from .convert import FieldError, quote
from .transactional import Output

# Bounds of what an unmatched record quotes from an event, so that it stays far below Kafka's
# record size whatever the event holds.
MAX_MESSAGE = 1000
MAX_PATH = 500
MAX_NAME = 200

_decoder = msgspec.json.Decoder(StoredEvent)
_encode = msgspec.json.Encoder().encode


class Reason(StrEnum):
    UNKNOWN_EVENT = "unknown_event"
    UNKNOWN_VERSION = "unknown_version"
    DEPRECATED_VERSION = "deprecated_version"
    INVALID_FIELD = "invalid_field"
    MALFORMED_JSON = "malformed_json"
    TOO_LARGE = "too_large"
    INTERNAL_ERROR = "internal_error"


@dataclass(slots=True, kw_only=True)
class Matched(Output):
    """The Avro record for the contract's output topic, produced as it is."""

    event_name: str
    version: int
    event: StoredEvent


@dataclass
class Unmatched:
    reason: Reason
    message: str
    # The decoded event, when it could be decoded (not part of the reason). Declared before
    # ``field`` below, whose name would hide dataclasses.field.
    event: StoredEvent | None = field(default=None, repr=False, compare=False, kw_only=True)
    event_name: str | None = None
    event_id: str | None = None
    contract_version: int | None = None
    field: str | None = None  # path of the bad value, such as items[2].sku
    group_field: str = ""  # the path without array indexes: the unmatched group's field
    expected: str | None = None
    actual: str | None = None

    def __post_init__(self) -> None:
        self.message = quote(self.message, MAX_MESSAGE)
        self.event_name = self.event_name and quote(self.event_name, MAX_NAME)
        self.event_id = self.event_id and quote(self.event_id, MAX_NAME)
        self.field = self.field and quote(self.field, MAX_PATH)
        self.group_field = quote(self.group_field, MAX_PATH)
        self.expected = self.expected and quote(self.expected, MAX_PATH)
        self.actual = self.actual and quote(self.actual, MAX_NAME)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason.value,
            "message": self.message,
            "event_name": self.event_name,
            "event_id": self.event_id,
            "contract_version": self.contract_version,
            "field": self.field,
            "group_field": self.group_field,
            "expected": self.expected,
            "actual": self.actual,
        }


Outcome = Matched | Unmatched


def match(raw: bytes, book: ContractBook, max_bytes: int) -> Outcome:
    if len(raw) > max_bytes:
        return Unmatched(
            Reason.TOO_LARGE, f"The event is {len(raw)} bytes; at most {max_bytes} are matched."
        )
    try:
        event = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return Unmatched(Reason.MALFORMED_JSON, f"Not a valid event: {exc}")
    except msgspec.DecodeError as exc:
        return Unmatched(Reason.MALFORMED_JSON, f"Not valid JSON: {exc}")
    return match_event(event, book)


def match_event(event: StoredEvent, book: ContractBook) -> Outcome:
    name = event.event
    event_id = event.event_id or None
    if event.properties is UNSET:
        return Unmatched(
            Reason.MALFORMED_JSON,
            "The event has no 'properties' object.",
            name,
            event_id,
            event=event,
        )
    contract = book.get(name)
    if contract is None:
        return Unmatched(
            Reason.UNKNOWN_EVENT,
            f"No published contract for event {quote(name, MAX_NAME)}.",
            name,
            event_id,
            event=event,
        )
    declared = event.contract_version
    if declared is not UNSET:
        return _match_declared(event, contract, declared)
    candidates = contract.published
    if not candidates:
        return Unmatched(
            Reason.DEPRECATED_VERSION,
            f"Every version of {name!r} is deprecated; send a current one.",
            name,
            event_id,
            event=event,
        )
    first_error: Unmatched | None = None
    for version in candidates:
        outcome = _convert(event, contract, version)
        if isinstance(outcome, Matched):
            return outcome
        first_error = first_error or outcome
    assert first_error is not None
    return first_error  # the newest version's complaint is the likeliest to help


def _match_declared(event: StoredEvent, contract: Contract, declared: int) -> Outcome:
    name = contract.event_name
    version = contract.version(declared)
    if version is None:
        return Unmatched(
            Reason.UNKNOWN_VERSION,
            f"{name!r} has no published version {declared}.",
            name,
            event.event_id or None,
            declared,
            event=event,
        )
    if version.deprecated:
        return Unmatched(
            Reason.DEPRECATED_VERSION,
            f"Version {declared} of {name!r} is deprecated.",
            name,
            event.event_id or None,
            declared,
            event=event,
        )
    return _convert(event, contract, version)


def _convert(event: StoredEvent, contract: Contract, version: Version) -> Outcome:
    name = contract.event_name
    try:
        datum = version.convert(event.properties)
        body = io.BytesIO()
        body.write(version.wire_prefix)
        schemaless_writer(body, version.parsed_schema, datum)
    except FieldError as error:
        return Unmatched(
            Reason.INVALID_FIELD,
            f"Version {version.number}: {error.message}",
            name,
            event.event_id or None,
            version.number,
            field=error.path,
            group_field=error.group_path,
            expected=error.expected,
            actual=error.actual,
            event=event,
        )
    except (ValueError, TypeError, OverflowError) as exc:  # what fastavro itself refuses
        return Unmatched(
            Reason.INVALID_FIELD,
            f"Version {version.number}: {exc}",
            name,
            event.event_id or None,
            version.number,
            event=event,
        )
    header = msgspec.structs.replace(event, properties=UNSET, contract_version=version.number)
    return Matched(
        contract.output_topic,
        record_key(event.client_app or None, event.client_id or None, event.event_id or None),
        body.getvalue(),
        [(ENVELOPE_HEADER, _encode(header))],
        event_name=name,
        version=version.number,
        event=event,
    )
