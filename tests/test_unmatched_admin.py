"""Analysts browse unmatched groups in the admin and queue their replay."""

from django.utils import timezone

from events.models import ReplayRun, UnmatchedGroup, UnmatchedSample


def make_group() -> UnmatchedGroup:
    now = timezone.now()
    group = UnmatchedGroup.objects.create(
        event_name="checkout_completed",
        reason="invalid_field",
        field="total",
        count=7,
        first_seen=now,
        last_seen=now,
        last_message="expected double, got string",
    )
    UnmatchedSample.objects.create(
        group=group,
        event_id="e-1",
        seen_at=now,
        detail={"expected": "double"},
        raw='{"event": "checkout_completed"}',
        source_topic="events.raw",
        source_partition=0,
        source_offset=41,
    )
    return group


def test_groups_and_their_samples_are_listed(admin_client):
    group = make_group()

    listing = admin_client.get("/admin/events/unmatchedgroup/")
    detail = admin_client.get(f"/admin/events/unmatchedgroup/{group.pk}/change/")

    assert listing.status_code == 200 and b"checkout_completed" in listing.content
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "expected double, got string" in page and "e-1" in page
    assert 'name="_save"' not in page


def test_replay_action_queues_one_run_per_group(admin_client, django_capture_on_commit_callbacks):
    group = make_group()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            "/admin/events/unmatchedgroup/",
            {"action": "replay_groups", "_selected_action": [group.pk]},
            follow=True,
        )

    assert response.status_code == 200
    [run] = ReplayRun.objects.all()
    assert run.filters == {
        "event_name": "checkout_completed",
        "reason": "invalid_field",
        "field": "total",
    }
    assert run.status == ReplayRun.Status.PENDING
    assert len(callbacks) == 1
    assert "Queued 1 replay" in response.content.decode()
