"""The matcher against a real broker and database: every raw event lands once, matched or not."""

import io
import uuid
from collections import Counter

import fastavro
import msgspec
import pytest
from prometheus_client import REGISTRY

from devservices._process import wait_until
from events.models import UnmatchedGroup, UnmatchedSample
from tests.conftest import make_event, read_topic
from tests.matcher_helpers import (
    CHECKOUT_V1,
    add_version,
    caught_up,
    decode_unmatched,
    make_contract,
    matched_event_id,
    produce,
    run_in_process,
)

pytest_plugins = ["tests.matcher_fixtures"]

METRICS = {
    "matcher_events_matched_total": {"contract": "checkout_completed"},
    "matcher_events_unmatched_total": {"contract": "checkout_completed", "reason": "invalid_field"},
    "consumer_batch_latency_seconds_count": {"consumer": "matcher"},
}


def metric(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0


def checkout(**overrides) -> dict:
    return make_event(event_id=str(uuid.uuid4()), client_app="shop-ios", **overrides)


@pytest.mark.parametrize("overlap", [True, False], ids=["overlapped-commits", "serial-commits"])
def test_matched_and_unmatched_events_each_land_once(matcher_setup, settings, overlap):
    settings.MATCHER_OVERLAP_COMMITS = overlap
    settings.UNMATCHED_SAMPLES_PER_GROUP = 3
    contract = make_contract("checkout_completed", CHECKOUT_V1)
    good = [checkout() for _ in range(20)]
    bad_qty = [
        checkout(properties={"order_id": "A", "total": 1, "items": [{"sku": "x"}]})
        for _ in range(5)
    ]
    unknown = [checkout(event="never_heard_of") for _ in range(2)]
    records = [(e["event_id"].encode(), msgspec.json.encode(e)) for e in good + bad_qty + unknown]
    records.append((b"broken", b'{"event": "checkout_completed", "prop'))
    produce(matcher_setup.raw_topic, records)
    before = {name: metric(name, labels) for name, labels in METRICS.items()}

    run_in_process(matcher_setup)

    counted = {name: metric(name, labels) - before[name] for name, labels in METRICS.items()}
    assert counted == {
        "matcher_events_matched_total": 20,
        "matcher_events_unmatched_total": 5,
        "consumer_batch_latency_seconds_count": counted["consumer_batch_latency_seconds_count"],
    }
    assert counted["consumer_batch_latency_seconds_count"] >= 1
    lags = [metric("matcher_consumer_lag", {"partition": str(p)}) for p in range(3)]
    assert lags == [0, 0, 0]

    matched = read_topic(contract.output_topic)
    unmatched = [decode_unmatched(m) for m in read_topic(matcher_setup.unmatched_topic)]
    assert sorted(matched_event_id(m) for m in matched) == sorted(e["event_id"] for e in good)
    schema = fastavro.parse_schema(CHECKOUT_V1)
    by_id = {e["event_id"]: e for e in good}
    for message in matched:
        body = io.BytesIO(message.value()[5:])
        datum = fastavro.schemaless_reader(body, schema, schema)
        assert datum == by_id[matched_event_id(message)]["properties"]
    reasons = Counter((u["reason"]["reason"], u["reason"]["field"]) for u in unmatched)
    assert reasons == {
        ("invalid_field", "items[0].qty"): 5,
        ("unknown_event", None): 2,
        ("malformed_json", None): 1,
    }
    assert sorted(u["event"]["event_id"] for u in unmatched if "event" in u) == sorted(
        e["event_id"] for e in bad_qty + unknown
    )
    [broken] = [u for u in unmatched if "raw_text" in u]
    assert broken["raw_text"] == '{"event": "checkout_completed", "prop'
    assert broken["source"]["topic"] == matcher_setup.raw_topic

    groups = {(g.event_name, g.reason, g.field): g.count for g in UnmatchedGroup.objects.all()}
    assert groups == {
        ("checkout_completed", "invalid_field", "items[].qty"): 5,
        ("never_heard_of", "unknown_event", ""): 2,
        ("", "malformed_json", ""): 1,
    }
    qty_group = UnmatchedGroup.objects.get(reason="invalid_field")
    assert qty_group.samples.count() == 3
    assert qty_group.first_seen <= qty_group.last_seen
    sample = qty_group.samples.first()
    assert sample.detail["expected"] == "int"
    assert sample.detail["actual"] == "missing"
    assert msgspec.json.decode(sample.raw)["event_id"] in {e["event_id"] for e in bad_qty}
    assert UnmatchedSample.objects.count() == 3 + 2 + 1


def test_a_newly_published_version_is_used_without_a_restart(matcher_setup, matcher_processes):
    contract = make_contract("checkout_completed", CHECKOUT_V1)
    matcher = matcher_processes("live")
    early = checkout(contract_version=2)
    produce(matcher_setup.raw_topic, [(b"k", msgspec.json.encode(early))])
    wait_until(lambda: caught_up(matcher_setup.group, matcher_setup.raw_topic), 120, "a match")

    add_version(contract, 2, CHECKOUT_V1)

    def one_more_matches() -> bool:
        # Until the matcher has seen v2, an event may still go unmatched: send another.
        produce(
            matcher_setup.raw_topic, [(b"k", msgspec.json.encode(checkout(contract_version=2)))]
        )
        wait_until(lambda: caught_up(matcher_setup.group, matcher_setup.raw_topic), 120, "a match")
        return bool(read_topic(contract.output_topic))

    wait_until(one_more_matches, 60, "version 2 to be used")
    [first, *_] = [decode_unmatched(m) for m in read_topic(matcher_setup.unmatched_topic)]
    assert first["reason"]["reason"] == "unknown_version"
    assert first["event"]["event_id"] == early["event_id"]
    assert matcher.process.poll() is None
