"""Round trip: the compiled TypeScript and Kotlin clients send events through the generated
trackers to a live collector (real Kafka raw topic); the matcher matches every one of them, and
the Avro it writes holds exactly the values the clients set."""

import io

import fastavro
import pytest
from django.db import connections

from events.envelope import ENVELOPE_HEADER, decode_header
from schemas_admin.codegen.bundle import released_bundle
from tests.codegen_contracts import CONTRACTS, EXPECTED, publish_all
from tests.codegen_fixtures import generated
from tests.conftest import read_topic
from tests.matcher_helpers import run_in_process

pytest_plugins = ["tests.codegen_fixtures", "tests.matcher_fixtures"]
SCHEMAS = {
    (name, number): schema for name, _, versions in CONTRACTS for number, schema, _ in versions
}
CLIENTS = {"typescript": ("typescript_client", "web"), "kotlin": ("kotlin_client", "android")}


@pytest.fixture
def collector_url(live_server, monkeypatch) -> str:
    # Server threads kept alive by HTTP keep-alive must not keep database sessions open too.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    return f"{live_server.url}/api/v1/events"


@pytest.mark.parametrize("language", CLIENTS)
def test_every_event_sent_with_the_generated_code_is_matched(
    request, language, matcher_setup, api_key, collector_url
):
    contracts = publish_all()
    # What the database's published contracts generate is exactly the code compiled here.
    assert released_bundle(language).files == generated(language).files
    fixture, platform = CLIENTS[language]
    client = request.getfixturevalue(fixture)

    sent = client.run(collector_url, api_key)

    assert sent["errors"] == []
    run_in_process(matcher_setup)
    assert read_topic(matcher_setup.unmatched_topic) == []
    matched = {}
    for contract in contracts:
        for message in read_topic(contract.output_topic):
            envelope = decode_header(dict(message.headers())[ENVELOPE_HEADER])
            matched[envelope["event_id"]] = (contract.event_name, envelope, message.value())
    assert sorted(matched) == sorted(sent["ids"])
    for event_id, (event_name, version, datum) in zip(sent["ids"], EXPECTED, strict=True):
        name, envelope, value = matched[event_id]
        assert (name, envelope["contract_version"]) == (event_name, version)
        schema = fastavro.parse_schema(SCHEMAS[event_name, version])
        assert fastavro.schemaless_reader(io.BytesIO(value[5:]), schema, schema) == datum
        assert envelope["platform"] == platform
        assert envelope["client_id"] == f"device-{'ts' if language == 'typescript' else 'kt'}"
        assert {"timestamp", "sent_at", "event_time", "received_at"} <= set(envelope)
    app_opened = matched[sent["ids"][-1]][1]
    assert app_opened["user_id"] == "user-1"
    assert app_opened["anonymous_id"].startswith("anon-")
    assert app_opened["context"] == {"locale": "fr-FR", "screen": {"width": 390, "height": 844}}
