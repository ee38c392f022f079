"""Replaying unmatched events after a fix: they match now, and a second replay adds nothing."""

import io
import threading
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from events.envelope import ENVELOPE_HEADER, decode_header
from events.matcher.replay import replay
from events.models import ReplayRun, UnmatchedGroup
from events.tasks import replay_unmatched
from tests.conftest import make_event, read_topic
from tests.matcher_helpers import (
    CHECKOUT_V1,
    make_contract,
    matched_event_id,
    produce,
    run_in_process,
)

pytest_plugins = ["tests.matcher_fixtures"]

SIGNUP = {
    "type": "record",
    "name": "SignedUp",
    "fields": [{"name": "plan", "type": {"type": "enum", "name": "Plan", "symbols": ["FREE"]}}],
}


@pytest.fixture
def recorded(matcher_setup) -> dict[str, list[dict]]:
    """Unmatched events in the unmatched topic: signups (no contract yet), bad checkouts."""
    make_contract("checkout_completed", CHECKOUT_V1)
    events = {
        "signup": [
            make_event(event="signed_up", event_id=str(uuid.uuid4()), properties={"plan": "FREE"})
            for _ in range(5)
        ],
        "bad_checkout": [
            make_event(event_id=str(uuid.uuid4()), properties={"order_id": 1}) for _ in range(3)
        ],
        "good": [make_event(event_id=str(uuid.uuid4())) for _ in range(4)],
    }
    records = [(b"k", msgspec.json.encode(e)) for group in events.values() for e in group]
    produce(matcher_setup.raw_topic, records)
    run_in_process(matcher_setup)
    return events


def event_ids(topic: str) -> list[str]:
    return sorted(matched_event_id(m) for m in read_topic(topic))


def test_replay_after_publishing_the_contract_matches_once(recorded):
    signup = make_contract("signed_up", SIGNUP)

    outputs = [io.StringIO(), io.StringIO()]
    for out in outputs:
        call_command("replay_unmatched", "--event", "signed_up", stdout=out, stderr=out)

    assert event_ids(signup.output_topic) == sorted(e["event_id"] for e in recorded["signup"])
    first, second = ReplayRun.objects.order_by("pk")
    assert (first.status, first.matched, first.already_replayed) == ("succeeded", 5, 0)
    assert (second.matched, second.already_replayed, second.selected) == (0, 5, 5)
    # The whole unmatched topic, 5 signups and 3 bad checkouts, and not the commit markers of
    # the transactions that wrote it, which take offsets too.
    assert (first.scanned, first.total) == (8, 8)
    assert [out.getvalue() for out in outputs] == [
        f"replay {first.pk} (succeeded): read 8 unmatched events, selected 5: 5 matched now, "
        "0 still unmatched, 0 matched by an earlier replay\n",
        f"replay {second.pk} (succeeded): read 8 unmatched events, selected 5: 0 matched now, "
        "0 still unmatched, 5 matched by an earlier replay\n",
    ]
    group = UnmatchedGroup.objects.get(event_name="signed_up")
    assert (group.count, group.resolved_count) == (5, 5)
    matched = read_topic(signup.output_topic)[0]
    assert decode_header(dict(matched.headers())[ENVELOPE_HEADER])["contract_version"] == 1


def test_replay_all_leaves_still_broken_events_alone(recorded, settings):
    settings.REPLAY_BATCH_SIZE = 4
    make_contract("signed_up", SIGNUP)
    progress = io.StringIO()

    call_command("replay_unmatched", "--all", stdout=io.StringIO(), stderr=progress)

    run = ReplayRun.objects.get()
    assert (run.selected, run.matched, run.still_unmatched) == (8, 5, 3)
    lines = progress.getvalue().splitlines()  # one after each batch of 4
    assert [line.split(":")[0] for line in lines] == [f"replay {run.pk} (running)"] * 2
    assert "selected 4: " in lines[0] and "selected 8: " in lines[1]
    assert "read 8 of at most " in lines[1] and "{" not in progress.getvalue()


def test_replay_by_group_and_time_range(recorded):
    signup = make_contract("signed_up", SIGNUP)
    group = UnmatchedGroup.objects.get(event_name="signed_up")
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()

    call_command("replay_unmatched", "--group", str(group.pk), "--since", future)
    assert (ReplayRun.objects.get().scanned, ReplayRun.objects.get().selected) == (0, 0)
    call_command("replay_unmatched", "--group", str(group.pk), "--until", future)

    assert len(event_ids(signup.output_topic)) == 5


def test_celery_task_reports_progress_and_result(recorded, settings, monkeypatch):
    settings.REPLAY_BATCH_SIZE = 2
    make_contract("signed_up", SIGNUP)
    run = ReplayRun.objects.create(filters={"reason": "unknown_event"})
    states = []
    monkeypatch.setattr(
        replay_unmatched, "update_state", lambda **kwargs: states.append(kwargs), raising=False
    )

    result = replay_unmatched.apply(args=[run.pk])
    run.refresh_from_db()

    assert result.successful(), result.traceback
    assert result.result["matched"] == 5
    assert result.result["status"] == "succeeded"
    assert run.finished_at is not None
    assert [s["meta"]["matched"] for s in states] == [2, 4, 5]
    assert {s["state"] for s in states} == {"PROGRESS"}


def test_replay_needs_something_to_select(matcher_setup):
    with pytest.raises(CommandError):
        call_command("replay_unmatched")


def test_concurrent_replays_of_the_same_events_match_them_once(recorded, settings):
    settings.REPLAY_BATCH_SIZE = 2
    signup = make_contract("signed_up", SIGNUP)
    runs = [ReplayRun.objects.create(filters={"event_name": "signed_up"}) for _ in range(3)]
    errors = []

    def replay_in_thread(run: ReplayRun) -> None:
        try:
            replay(run)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=replay_in_thread, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == []
    assert event_ids(signup.output_topic) == sorted(e["event_id"] for e in recorded["signup"])
    finished = ReplayRun.objects.all()
    assert sum(run.matched for run in finished) == 5
    assert sum(run.already_replayed for run in finished) == 10
