"""One raw event -> its contract's Avro record, or the precise reason it matches none."""

import io
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec
from fastavro import schemaless_writer

from .contracts import Contract, ContractBook, Version
from .convert import FieldError
from .transactional import Output

# Envelope fields carried along as headers of the Avro record.
HEADER_FIELDS = (
    "event",
    "event_id",
    "client_app",
    "client_id",
    "platform",
    "app_version",
    "timestamp",
    "received_at",
)


class Reason(StrEnum):
    UNKNOWN_EVENT = "unknown_event"
    UNKNOWN_VERSION = "unknown_version"
    DEPRECATED_VERSION = "deprecated_version"
    INVALID_FIELD = "invalid_field"
    MALFORMED_JSON = "malformed_json"
    TOO_LARGE = "too_large"


@dataclass(slots=True, kw_only=True)
class Matched(Output):
    """The Avro record for the contract's output topic, produced as it is."""

    event_name: str
    version: int


@dataclass(frozen=True)
class Unmatched:
    reason: Reason
    message: str
    event_name: str | None = None
    event_id: str | None = None
    contract_version: int | None = None
    field: str | None = None  # path of the bad value, such as items[2].sku
    group_field: str = ""  # the path without array indexes: the unmatched group's field
    expected: str | None = None
    actual: str | None = None

    def as_dict(self) -> dict[str, Any]:
        # The fields in order, as dataclasses.asdict() gives them, without its deep copies.
        return {**vars(self), "reason": self.reason.value}


Outcome = Matched | Unmatched


def match(raw: bytes, book: ContractBook, max_bytes: int) -> Outcome:
    if len(raw) > max_bytes:
        return Unmatched(
            Reason.TOO_LARGE, f"The event is {len(raw)} bytes; at most {max_bytes} are matched."
        )
    try:
        event = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        return Unmatched(Reason.MALFORMED_JSON, f"Not valid JSON: {exc}")
    return match_event(event, book)


def match_event(event: Any, book: ContractBook) -> Outcome:
    problem = _envelope_problem(event)
    if problem:
        return Unmatched(Reason.MALFORMED_JSON, problem, event_id=_text(event, "event_id"))
    name, event_id, declared = (
        event["event"],
        _text(event, "event_id"),
        event.get("contract_version"),
    )
    contract = book.get(name)
    if contract is None:
        return Unmatched(
            Reason.UNKNOWN_EVENT, f"No published contract for event {name!r}.", name, event_id
        )
    if declared is not None:
        return _match_declared(event, event_id, contract, declared)
    candidates = contract.published
    if not candidates:
        return Unmatched(
            Reason.DEPRECATED_VERSION,
            f"Every version of {name!r} is deprecated; send a current one.",
            name,
            event_id,
        )
    first_error: Unmatched | None = None
    for version in candidates:
        outcome = _convert(event, event_id, contract, version)
        if isinstance(outcome, Matched):
            return outcome
        first_error = first_error or outcome
    assert first_error is not None
    return first_error  # the newest version's complaint is the likeliest to help


def _match_declared(
    event: dict, event_id: str | None, contract: Contract, declared: int
) -> Outcome:
    name = contract.event_name
    version = contract.version(declared)
    if version is None:
        return Unmatched(
            Reason.UNKNOWN_VERSION,
            f"{name!r} has no published version {declared}.",
            name,
            event_id,
            declared,
        )
    if version.deprecated:
        return Unmatched(
            Reason.DEPRECATED_VERSION,
            f"Version {declared} of {name!r} is deprecated.",
            name,
            event_id,
            declared,
        )
    return _convert(event, event_id, contract, version)


def _convert(event: dict, event_id: str | None, contract: Contract, version: Version) -> Outcome:
    name = contract.event_name
    try:
        datum = version.convert(event["properties"])
        body = io.BytesIO()
        body.write(version.wire_prefix)
        schemaless_writer(body, version.parsed_schema, datum)
    except FieldError as error:
        return Unmatched(
            Reason.INVALID_FIELD,
            f"Version {version.number}: {error.message}",
            name,
            event_id,
            version.number,
            field=error.path,
            group_field=error.group_path,
            expected=error.expected,
            actual=error.actual,
        )
    except (ValueError, TypeError, OverflowError) as exc:  # what fastavro itself refuses
        return Unmatched(
            Reason.INVALID_FIELD, f"Version {version.number}: {exc}", name, event_id, version.number
        )
    headers = [
        (field, value if isinstance(value, str) else str(value))
        for field in HEADER_FIELDS
        if (value := event.get(field)) is not None
    ]
    headers.append(("contract_version", str(version.number)))
    key = event_id.encode() if event_id is not None else None
    return Matched(
        contract.output_topic,
        key,
        body.getvalue(),
        headers,
        event_name=name,
        version=version.number,
    )


def _envelope_problem(event: Any) -> str | None:
    if not isinstance(event, dict):
        return "An event must be a JSON object."
    if not isinstance(event.get("event"), str):
        return "The event has no 'event' name."
    if not isinstance(event.get("properties"), dict):
        return "The event's 'properties' must be an object."
    declared = event.get("contract_version")
    if declared is not None and (not isinstance(declared, int) or isinstance(declared, bool)):
        return "'contract_version' must be an integer."
    return None


def _text(event: Any, field: str) -> str | None:
    value = event.get(field) if isinstance(event, dict) else None
    return value if isinstance(value, str) else None
