"""Choosing the contract version of a raw event, and the reason when none fits."""

import uuid

import msgspec
import pytest
from confluent_kafka.schema_registry import Schema, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from events.envelope import ENVELOPE_FIELDS, ENVELOPE_HEADER, decode_header
from events.matcher.contracts import ContractBook
from events.matcher.match import Matched, Reason, Unmatched, match
from tests.conftest import make_event
from tests.matcher_helpers import CHECKOUT_V1, CHECKOUT_V2, add_version, make_contract

pytestmark = pytest.mark.django_db

PAID_AT = "2026-11-25T10:00:00.123+01:00"
MAX_BYTES = 10_000


def raw(**overrides) -> bytes:
    event = make_event(event_id=str(uuid.uuid4()), client_app="shop-ios", **overrides)
    event.setdefault("received_at", "2026-11-25T09:00:01+00:00")
    return msgspec.json.encode(event)


def run(data: bytes) -> Matched | Unmatched:
    book = ContractBook()
    book.refresh()
    return match(data, book, MAX_BYTES)


class _Registry:
    """Serves schemas by id, as a Schema Registry's GET /schemas/ids/<id> does."""

    def __init__(self, schemas: dict[int, dict]) -> None:
        self.schemas = schemas

    def get_schema(self, schema_id, subject_name=None, fmt=None) -> Schema:
        return Schema(msgspec.json.encode(self.schemas[schema_id]).decode(), "AVRO")

    def config(self) -> dict:
        return {}


def test_matched_event_is_confluent_avro_with_the_envelope_in_one_header():
    contract = make_contract("checkout_completed", CHECKOUT_V1)
    version = contract.versions.get()
    origin = {"os": {"name": "iOS", "version": "18.1"}, "locale": "fr-FR", "extra": [1]}
    data = raw(
        user_id="u-7",
        sent_at="2026-11-25T10:00:05+01:00",
        event_time="2026-11-25T09:00:00.123+00:00",
        context=origin,
    )

    outcome = run(data)

    assert isinstance(outcome, Matched)
    event = msgspec.json.decode(data)
    assert outcome.topic == contract.output_topic
    assert outcome.key == b"shop-ios:device-1"  # keyed by client, like the raw record
    assert outcome.value[:5] == b"\x00" + version.registry_schema_id.to_bytes(4, "big")
    deserialize = AvroDeserializer(
        _Registry({version.registry_schema_id: CHECKOUT_V1}),
        conf={"subject.name.strategy": topic_subject_name_strategy},
    )
    context = SerializationContext(contract.output_topic, MessageField.VALUE)
    assert deserialize(outcome.value, context) == event["properties"]
    [(name, header)] = outcome.headers
    assert name == ENVELOPE_HEADER
    assert decode_header(header) == {
        "event": "checkout_completed",
        "event_id": event["event_id"],
        "contract_version": 1,
        "timestamp": event["timestamp"],
        "sent_at": "2026-11-25T10:00:05+01:00",
        "received_at": event["received_at"],
        "event_time": "2026-11-25T09:00:00.123+00:00",
        "client_app": "shop-ios",
        "client_id": "device-1",
        "user_id": "u-7",
        "platform": "ios",
        "app_version": "4.2.0",
        "context": origin,
    }
    assert set(decode_header(header)) <= set(ENVELOPE_FIELDS)


def test_without_a_declared_version_the_newest_that_validates_wins():
    make_contract("checkout_completed", CHECKOUT_V1, CHECKOUT_V2)
    v2_properties = {**make_event()["properties"], "paid_at": PAID_AT}

    assert run(raw(properties=v2_properties)).version == 2
    assert run(raw()).version == 1  # v2 needs paid_at; v1 fits


def test_the_declared_version_is_used_and_its_error_reported():
    make_contract("checkout_completed", CHECKOUT_V1, CHECKOUT_V2)

    assert run(raw(contract_version=1)).version == 1
    outcome = run(raw(contract_version=2))

    assert isinstance(outcome, Unmatched)
    assert outcome.reason == Reason.INVALID_FIELD
    assert (outcome.contract_version, outcome.field) == (2, "paid_at")
    assert (outcome.expected, outcome.actual) == ("timestamp-millis", "missing")


def test_when_no_version_validates_the_newest_versions_error_is_reported():
    make_contract("checkout_completed", CHECKOUT_V1, CHECKOUT_V2)
    properties = make_event()["properties"]
    properties["items"][0]["qty"] = "two"

    outcome = run(raw(properties=properties))

    assert isinstance(outcome, Unmatched)
    assert outcome.reason == Reason.INVALID_FIELD
    assert outcome.contract_version == 2
    assert (outcome.field, outcome.group_field) == ("items[0].qty", "items[].qty")
    assert (outcome.expected, outcome.actual) == ("int", "string")
    assert outcome.event_name == "checkout_completed"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (raw(event="no_such_event"), Reason.UNKNOWN_EVENT),
        (raw(contract_version=7), Reason.UNKNOWN_VERSION),
        (raw(contract_version=1), Reason.DEPRECATED_VERSION),
        (b'{"event": "checkout_completed", ', Reason.MALFORMED_JSON),
        (b'["not", "an", "object"]', Reason.MALFORMED_JSON),
        (msgspec.json.encode({"event": "checkout_completed"}), Reason.MALFORMED_JSON),
        (raw(contract_version="2"), Reason.MALFORMED_JSON),
        (raw(properties={"padding": "x" * MAX_BYTES}), Reason.TOO_LARGE),
    ],
)
def test_each_failure_has_its_reason(data, reason):
    make_contract(
        "checkout_completed", CHECKOUT_V1, CHECKOUT_V2, statuses=("deprecated", "published")
    )

    outcome = run(data)

    assert isinstance(outcome, Unmatched)
    assert outcome.reason == reason, outcome.message


def test_only_deprecated_versions_left_is_a_deprecated_version():
    make_contract("checkout_completed", CHECKOUT_V1, statuses=("deprecated",))

    assert run(raw()).reason == Reason.DEPRECATED_VERSION


def test_drafts_and_archived_contracts_are_not_matched():
    contract = make_contract("checkout_completed", CHECKOUT_V1)
    add_version(contract, 2, CHECKOUT_V2, status="draft")
    make_contract("archived_event", CHECKOUT_V1).__class__.objects.filter(
        event_name="archived_event"
    ).update(status="archived")

    assert run(raw(contract_version=2)).reason == Reason.UNKNOWN_VERSION
    assert run(raw(event="archived_event")).reason == Reason.UNKNOWN_EVENT


def test_a_refresh_sees_a_newly_published_version():
    contract = make_contract("checkout_completed", CHECKOUT_V1)
    book = ContractBook()
    book.refresh()
    data = raw(contract_version=2)
    assert match(data, book, MAX_BYTES).reason == Reason.UNKNOWN_VERSION

    add_version(contract, 2, CHECKOUT_V1)
    book.refresh()

    assert match(data, book, MAX_BYTES).version == 2
