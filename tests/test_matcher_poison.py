"""One bad event never stops the matcher: huge invalid values, oversized outputs and events that
make matching fail unexpectedly become unmatched records, and every event after them is matched."""

import uuid

import msgspec
import pytest
from django.db import DataError

from events.matcher import processor, unmatched
from events.models import TrafficCount, UnmatchedGroup
from tests.conftest import make_event, read_topic
from tests.matcher_helpers import (
    decode_unmatched,
    make_contract,
    matched_event_id,
    produce,
    run_in_process,
)

pytest_plugins = ["tests.matcher_fixtures"]

PROFILE = {
    "type": "record",
    "name": "ProfileSaved",
    "namespace": "com.shop.events",
    "fields": [
        {"name": "bio", "type": "string"},
        {"name": "tier", "type": {"type": "enum", "name": "Tier", "symbols": ["FREE", "PRO"]}},
        {
            "name": "balance",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
        },
        {"name": "born", "type": {"type": "int", "logicalType": "date"}},
        {"name": "score", "type": "float"},
    ],
}
GOOD = {"bio": "hi", "tier": "PRO", "balance": "12.50", "born": "1990-05-01", "score": 0.5}
HUGE = "9" * 400_000  # under the collector's 512 KiB limit per event


def event(**properties) -> dict:
    return make_event(
        event="profile_saved",
        event_id=str(uuid.uuid4()),
        client_app="shop-ios",
        received_at="2026-11-25T09:00:01.000000+00:00",
        properties={**GOOD, **properties},
    )


def run(matcher_setup, contract, events: list[dict]) -> tuple[list, list[dict]]:
    produce(matcher_setup.raw_topic, [(b"k", msgspec.json.encode(e)) for e in events])
    run_in_process(matcher_setup)
    matched = read_topic(contract.output_topic)
    unmatched = [decode_unmatched(m) for m in read_topic(matcher_setup.unmatched_topic)]
    return matched, unmatched


@pytest.fixture
def contract(matcher_setup):
    return make_contract("profile_saved", PROFILE)


def test_huge_invalid_values_are_unmatched_with_bounded_reasons(matcher_setup, contract):
    good = [event() for _ in range(3)]
    poison = [event(tier=HUGE), event(balance=HUGE + ".5"), event(born=HUGE), event(bio=None)]
    after = [event() for _ in range(3)]

    matched, unmatched = run(matcher_setup, contract, good + poison + after)

    assert sorted(matched_event_id(m) for m in matched) == sorted(
        e["event_id"] for e in good + after
    )
    reasons = {u["reason"]["event_id"]: u["reason"] for u in unmatched}
    assert set(reasons) == {e["event_id"] for e in poison}
    for record in unmatched:
        reason = record["reason"]
        assert reason["reason"] == "invalid_field"
        assert len(reason["message"]) <= 1000 and len(reason["actual"] or "") <= 200
        assert record["event"]["event_id"] == reason["event_id"]  # the raw event is kept
    assert reasons[poison[0]["event_id"]]["field"] == "tier"
    assert reasons[poison[0]["event_id"]]["actual"].endswith("... (400000 characters)")


def test_a_float_out_of_range_is_unmatched_not_infinite(matcher_setup, contract):
    matched, unmatched = run(matcher_setup, contract, [event(score=1e39), event()])

    assert len(matched) == 1
    [record] = unmatched
    assert (record["reason"]["field"], record["reason"]["expected"]) == ("score", "float")
    assert record["reason"]["actual"] == "1e+39, out of range"


def test_an_output_larger_than_kafka_takes_is_replaced_by_a_record_saying_so(
    matcher_setup, contract, settings
):
    settings.KAFKA_MAX_RECORD_BYTES = 300_000
    big_and_valid = event(bio="x" * 350_000)
    big_and_invalid = event(bio="x" * 350_000, tier="GOLD")

    matched, unmatched = run(matcher_setup, contract, [big_and_valid, big_and_invalid, event()])

    assert len(matched) == 1
    by_id = {u["reason"]["event_id"]: u for u in unmatched}
    too_large = by_id[big_and_valid["event_id"]]
    assert too_large["reason"]["reason"] == "too_large"
    assert "300000" in too_large["reason"]["message"]
    invalid = by_id[big_and_invalid["event_id"]]
    assert invalid["reason"]["field"] == "tier"
    assert "event" not in invalid and "more than Kafka takes" in invalid["event_omitted"]
    assert invalid["source"]["topic"] == matcher_setup.raw_topic


def test_an_unexpected_failure_on_one_event_is_unmatched_and_logged_once(
    matcher_setup, contract, monkeypatch, caplog
):
    real_match = processor.match

    def failing_on_marked_events(raw, book, max_bytes):
        if b'"bio":"boom"' in raw:
            raise RuntimeError("converter bug")
        return real_match(raw, book, max_bytes)

    monkeypatch.setattr(processor, "match", failing_on_marked_events)
    boom = [event(bio="boom") for _ in range(3)]
    good = [event() for _ in range(4)]

    matched, unmatched = run(matcher_setup, contract, [good[0], *boom, *good[1:]])

    assert sorted(matched_event_id(m) for m in matched) == sorted(e["event_id"] for e in good)
    assert len(unmatched) == 3
    for record in unmatched:
        assert record["reason"]["reason"] == "internal_error"
        assert record["reason"]["actual"] == "RuntimeError"
        assert "converter bug" in record["reason"]["message"]
    tracebacks = [r for r in caplog.records if r.exc_info and "converter bug" in str(r.exc_info[1])]
    assert len(tracebacks) == 1
    assert UnmatchedGroup.objects.get(reason="internal_error").count == 3


def test_traffic_counts_are_kept_per_minute_and_dimension(matcher_setup, contract):
    events = [event(), event(), event(tier="GOLD")]
    events[1]["app_version"] = "5.0.0"

    run(matcher_setup, contract, events)

    rows = {
        (r.event_name, r.contract_version, r.reason, r.field, r.app_version, r.count)
        for r in TrafficCount.objects.all()
    }
    assert rows == {
        ("profile_saved", 1, "", "", "4.2.0", 1),
        ("profile_saved", 1, "", "", "5.0.0", 1),
        ("profile_saved", 1, "invalid_field", "tier", "4.2.0", 1),
    }
    minutes = set(TrafficCount.objects.values_list("minute", flat=True))
    assert [m.isoformat() for m in minutes] == ["2026-11-25T09:00:00+00:00"]
    assert set(TrafficCount.objects.values_list("client_app", "platform").distinct()) == {
        ("shop-ios", "ios")
    }


def test_nul_characters_are_unmatched_stored_and_counted(matcher_setup, contract):
    """PostgreSQL's text and jsonb refuse NUL characters, which JSON allows anywhere: the
    groups, samples and counts the matcher stores replace them (else one such event would stop
    every later write to the database); the raw event keeps them."""
    nul_value = event(tier="PR\u0000O")
    nul_name = event(**{"no\u0000te": "x"})
    nul_version = event()
    nul_version["app_version"] = "5.0\u0000"
    good = event()

    matched, unmatched = run(matcher_setup, contract, [nul_value, nul_name, nul_version, good])

    assert sorted(matched_event_id(m) for m in matched) == sorted(
        [nul_version["event_id"], good["event_id"]]
    )
    reasons = {u["reason"]["event_id"]: u for u in unmatched}
    assert reasons[nul_value["event_id"]]["reason"]["actual"] == "'PR\\x00O'"
    assert reasons[nul_name["event_id"]]["reason"]["field"] == "no\ufffdte"
    assert reasons[nul_name["event_id"]]["event"]["properties"]["no\u0000te"] == "x"
    groups = {(g.reason, g.field): g for g in UnmatchedGroup.objects.all()}
    assert set(groups) == {("invalid_field", "tier"), ("invalid_field", "no\ufffdte")}
    assert all(g.count == 1 and g.samples.count() == 1 for g in groups.values())
    assert TrafficCount.objects.filter(app_version="5.0\ufffd").count() == 1


def test_a_group_the_database_refuses_holds_back_no_other_group_or_count(
    matcher_setup, contract, monkeypatch, caplog
):
    real_keep_samples = unmatched._keep_samples

    def refusing_the_tier_group(group, events):
        if group.field == "tier":
            raise DataError("value refused")  # as PostgreSQL refuses data it cannot store
        return real_keep_samples(group, events)

    monkeypatch.setattr(unmatched, "_keep_samples", refusing_the_tier_group)

    run(matcher_setup, contract, [event(tier="GOLD"), event(balance="x"), event()])

    assert {g.field for g in UnmatchedGroup.objects.all()} == {"balance"}
    assert UnmatchedGroup.objects.get(field="balance").samples.count() == 1
    assert sum(TrafficCount.objects.values_list("count", flat=True)) == 3
    assert any("refused unmatched group" in r.getMessage() for r in caplog.records)
