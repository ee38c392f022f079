"""The event envelope clients send, checked for sanity only (contracts are checked later)."""

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

EVENT_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]{0,127}$"

EventName = Annotated[
    str,
    Meta(
        pattern=EVENT_NAME_PATTERN,
        description="Name of the event's contract: a letter, then letters, digits, _ . or -.",
    ),
]


class Envelope(msgspec.Struct, forbid_unknown_fields=True):
    """One event as a client sends it. The server adds ``received_at`` and ``client_app``.

    ``event_id`` is generated when missing; ``contract_version`` names the contract version the
    client was built against; ``client_id`` (a device, install or user id) keys the Kafka record
    so that one client's events keep their order.
    """

    event: EventName
    timestamp: Annotated[
        datetime, Meta(tz=True, description="When the event happened on the client (RFC 3339).")
    ]
    platform: Annotated[str, Meta(min_length=1, max_length=32, description="ios, web, ...")]
    app_version: Annotated[str, Meta(min_length=1, max_length=64)]
    properties: Annotated[dict[str, Any], Meta(description="The event's own fields.")]
    event_id: uuid.UUID | None = None
    contract_version: Annotated[int, Meta(ge=1)] | None = None
    client_id: Annotated[str, Meta(min_length=1, max_length=128)] | None = None


_LOCATION = re.compile(r"at `\$\.([^`\[]+)|field `([^`]+)`")


def validate(item: Any) -> Envelope:
    """Return the envelope, or raise ``msgspec.ValidationError`` saying what is wrong."""
    return msgspec.convert(item, Envelope)


def error_field(error: msgspec.ValidationError) -> str | None:
    """The top-level envelope field a validation message points at, if any."""
    match = _LOCATION.search(str(error))
    return (match.group(1) or match.group(2)) if match else None


def json_schema() -> dict[str, Any]:
    """JSON Schema of one envelope, for the OpenAPI document."""
    schema = msgspec.json.schema(Envelope)
    return schema["$defs"]["Envelope"]
