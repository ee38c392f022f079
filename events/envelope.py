"""The event envelope: what clients send (checked for sanity only; contracts are checked later),
what the raw topic stores, and the envelope header of matched records.

One definition serves the collector (``Envelope``), the matcher (``StoredEvent``) and everything
that reads matched records (``ENVELOPE_HEADER``, ``decode_header``), and yields the JSON Schema of
the API documentation.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from analytics_site.naming import EVENT_NAME_PATTERN

UUID_PATTERN = r"^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$"
MAX_CONTEXT_BYTES = 8 * 1024

EventName = Annotated[
    str,
    Meta(
        pattern=EVENT_NAME_PATTERN,
        description="Name of the event's contract: a letter, then letters, digits, _ . or -.",
    ),
]
Timestamp = Annotated[datetime, Meta(tz=True)]
UserId = Annotated[str, Meta(min_length=1, max_length=256)]


class App(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    version: str | None = None
    build: str | None = None
    namespace: str | None = None


class Device(msgspec.Struct, omit_defaults=True):
    id: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    type: str | None = None


class OperatingSystem(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    version: str | None = None


class Library(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    version: str | None = None


class Screen(msgspec.Struct, omit_defaults=True):
    width: int | None = None
    height: int | None = None
    density: float | None = None


class Campaign(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    source: str | None = None
    medium: str | None = None
    term: str | None = None
    content: str | None = None


class Context(msgspec.Struct, omit_defaults=True):
    """Where the event comes from, as mobile and web trackers describe it. The keys below are
    checked for their types; other keys are kept as sent."""

    app: App | None = None
    device: Device | None = None
    os: OperatingSystem | None = None
    locale: str | None = None
    timezone: str | None = None
    library: Library | None = None
    screen: Screen | None = None
    campaign: Campaign | None = None
    user_agent: str | None = None
    ip: str | None = None


class Envelope(msgspec.Struct, forbid_unknown_fields=True):
    """One event as a client sends it.

    The collector adds ``received_at``, ``client_app`` and ``event_time`` (the event's time
    corrected for the client's clock: ``received_at - (sent_at - timestamp)``), and an
    ``event_id`` when there is none. ``client_id`` keys the Kafka record, so that one client's
    events keep their order.
    """

    event: EventName
    timestamp: Annotated[
        datetime, Meta(tz=True, description="When the event happened, on the client's clock.")
    ]
    platform: Annotated[str, Meta(min_length=1, max_length=32, description="ios, web, ...")]
    app_version: Annotated[str, Meta(min_length=1, max_length=64)]
    # The values are only skipped over here (contracts check them downstream): Raw, not Any.
    properties: Annotated[dict[str, msgspec.Raw], Meta(description="The event's own fields.")]
    event_id: (
        Annotated[str, Meta(pattern=UUID_PATTERN, description="A UUID; made when missing.")] | None
    ) = None
    contract_version: Annotated[int, Meta(ge=1)] | None = None
    client_id: Annotated[str, Meta(min_length=1, max_length=128)] | None = None
    user_id: UserId | None = None
    anonymous_id: UserId | None = None
    sent_at: (
        Annotated[
            datetime,
            Meta(tz=True, description="When the client sent the request, on its clock."),
        ]
        | None
    ) = None
    context: (
        Annotated[Context, Meta(description=f"At most {MAX_CONTEXT_BYTES} bytes as JSON.")] | None
    ) = None


class StoredEvent(msgspec.Struct, omit_defaults=True):
    """A record of the raw topic, as the matcher reads it: the envelope with the server's fields.

    Encoded without ``properties`` (and with the matched ``contract_version``) it is the
    ``envelope`` header of a matched record.
    """

    event: str
    properties: dict[str, Any] | UnsetType = UNSET
    event_id: str | UnsetType = UNSET
    contract_version: int | UnsetType = UNSET
    timestamp: str | UnsetType = UNSET
    sent_at: str | UnsetType = UNSET
    received_at: str | UnsetType = UNSET
    event_time: str | UnsetType = UNSET
    client_app: str | UnsetType = UNSET
    client_id: str | UnsetType = UNSET
    user_id: str | UnsetType = UNSET
    anonymous_id: str | UnsetType = UNSET
    platform: str | UnsetType = UNSET
    app_version: str | UnsetType = UNSET
    context: dict[str, Any] | UnsetType = UNSET


# The header of matched records that holds their envelope (compact JSON), and its fields.
ENVELOPE_HEADER = "envelope"
ENVELOPE_FIELDS = tuple(name for name in StoredEvent.__struct_fields__ if name != "properties")


class _ContextOnly(msgspec.Struct):
    context: msgspec.Raw = msgspec.Raw(b"")


def context_too_large(raw_event: bytes) -> str | None:
    """Why the event's ``context`` is too large, if it is."""
    if len(raw_event) <= MAX_CONTEXT_BYTES:  # the context cannot be larger than the event
        return None
    size = len(msgspec.json.decode(raw_event, type=_ContextOnly).context)
    if size > MAX_CONTEXT_BYTES:
        return f"The context is {size} bytes of JSON; at most {MAX_CONTEXT_BYTES} are allowed."
    return None


def record_key(client_app: str | None, client_id: str | None, event_id: str | None) -> bytes | None:
    """The Kafka key of an event's records: its client (so that one client's events keep their
    order in every topic), or its id when the client is not known."""
    if client_id:
        return f"{client_app or ''}:{client_id}".encode()
    return event_id.encode() if event_id else None


def decode_header(value: bytes) -> dict[str, Any]:
    """The envelope of a matched record, from its ``envelope`` header."""
    return msgspec.json.decode(value)


def event_time(timestamp: datetime, sent_at: datetime | None, received_at: datetime) -> datetime:
    """When the event happened on the server's clock: the client's clock is trusted for the
    time between the event and the sending, not for the date it shows. Without ``sent_at``
    (servers, trusted clocks) it is the client's ``timestamp``."""
    try:
        if sent_at is None:
            return timestamp.astimezone(UTC)
        # An event is not sent before it happens: a negative delay is a clock jump.
        return received_at - max(sent_at - timestamp, timedelta(0))
    except OverflowError:  # a date at the edge of the calendar: nothing sensible to correct
        return timestamp


_LOCATION = re.compile(r"at `\$\.([^`\[.]+)|field `([^`]+)`")


def error_field(error: msgspec.ValidationError) -> str | None:
    """The top-level envelope field a validation message points at, if any."""
    match = _LOCATION.search(str(error))
    return (match.group(1) or match.group(2)) if match else None


def openapi_schema() -> dict[str, Any]:
    """The schema of one envelope as an OpenAPI 3.0 document states it: msgspec's JSON Schema
    with its definitions inlined, ``nullable`` for optional fields (OpenAPI 3.0 has no ``null``
    type) and no empty ``required`` lists."""
    schema = msgspec.json.schema(Envelope)
    definitions = schema["$defs"]
    return _openapi(definitions.pop("Envelope"), definitions)


def _openapi(value: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _openapi(definitions[ref.removeprefix("#/$defs/")], definitions)
        branches = value.get("anyOf")
        if isinstance(branches, list) and {"type": "null"} in branches:
            others = [branch for branch in branches if branch != {"type": "null"}]
            rest = {key: item for key, item in value.items() if key != "anyOf"}
            single = others[0] if len(others) == 1 else {"anyOf": others}
            return {**_openapi(single, definitions), **rest, "nullable": True}
        return {
            key: _openapi(item, definitions)
            for key, item in value.items()
            if not (key == "required" and item == [])  # OpenAPI 3.0 wants it absent, not empty
        }
    if isinstance(value, list):
        return [_openapi(item, definitions) for item in value]
    return value
