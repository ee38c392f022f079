"""The whole flow: a contract published through the real registry path, an event posted to the
collector, matched by the matcher, and read back by confluent-kafka's own Avro deserializer."""

import msgspec
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from events.envelope import ENVELOPE_HEADER, decode_header
from schemas_admin import publishing
from schemas_admin.models import ContractVersion
from tests.conftest import make_event, post_json, read_topic
from tests.contracts_fixtures import ORDER_ID, TOTAL, record, wait_for_publish
from tests.matcher_helpers import run_in_process

pytest_plugins = ["tests.contracts_fixtures", "tests.matcher_fixtures"]


def test_posted_event_arrives_as_avro_that_any_confluent_consumer_reads(
    api, matcher_setup, registry_url, worker, pm, contract
):
    version = ContractVersion.objects.create(
        contract=contract, version=1, schema=record(ORDER_ID, TOTAL), author=pm
    )
    publishing.publish(version, pm)
    version = wait_for_publish(version)
    assert version.publish_state == "done", version.publish_error

    good = make_event(event=contract.event_name, properties={"order_id": "A-1", "total": 42.5})
    bad = make_event(event=contract.event_name, properties={"total": "lots"})
    response = post_json(api, [good, bad])
    assert response.json()["accepted"] == 2
    good_id, bad_id = (event["event_id"] for event in response.json()["events"])

    run_in_process(matcher_setup)

    [matched] = read_topic(contract.output_topic)
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
    context = SerializationContext(contract.output_topic, MessageField.VALUE)
    assert deserialize(matched.value(), context) == {"order_id": "A-1", "total": 42.5}
    assert matched.key() == b"shop-ios:device-1"  # one client's events keep their order
    envelope = decode_header(dict(matched.headers())[ENVELOPE_HEADER])
    assert envelope["event_id"] == good_id
    assert envelope["contract_version"] == version.version
    assert envelope["client_app"] == "shop-ios"
    assert {"received_at", "event_time", "timestamp", "platform", "app_version"} <= set(envelope)
    [unmatched] = read_topic(matcher_setup.unmatched_topic)
    assert bad_id in unmatched.value().decode()
    assert msgspec.json.decode(unmatched.value())["reason"]["event_name"] == contract.event_name
