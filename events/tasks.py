"""Celery tasks of the events app: replaying unmatched events, and their retention."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from .matcher.replay import replay
from .models import ReplayedEvent, ReplayRun, UnmatchedGroup, UnmatchedSample


def progress(run: ReplayRun) -> dict:
    return {
        "run": run.pk,
        "status": run.status,
        "total": run.total,
        "scanned": run.scanned,
        "selected": run.selected,
        "matched": run.matched,
        "still_unmatched": run.still_unmatched,
        "already_replayed": run.already_replayed,
    }


@shared_task(bind=True)
def replay_unmatched(self, run_id: int) -> dict:
    """Replay the events a ReplayRun selects; the task's state (PROGRESS) and the run's row
    report the counts while it runs. Running it again for the same run produces nothing twice."""
    run = ReplayRun.objects.get(pk=run_id)
    run.task_id = self.request.id or ""
    replay(run, lambda run: self.update_state(state="PROGRESS", meta=progress(run)))
    return progress(run)


@shared_task
def purge_unmatched() -> dict[str, int]:
    """Forget unmatched groups, samples and replay records older than UNMATCHED_RETENTION_DAYS.

    The unmatched topic's retention.ms should not be longer: a replay must find the ledger row
    of every event it already matched.
    """
    cutoff = timezone.now() - timedelta(days=settings.UNMATCHED_RETENTION_DAYS)
    finished = [ReplayRun.Status.SUCCEEDED, ReplayRun.Status.FAILED]
    return {
        "groups": _delete(UnmatchedGroup.objects.filter(last_seen__lt=cutoff)),
        "samples": _delete(UnmatchedSample.objects.filter(seen_at__lt=cutoff)),
        "replayed": _delete(ReplayedEvent.objects.filter(replayed_at__lt=cutoff)),
        "runs": _delete(ReplayRun.objects.filter(finished_at__lt=cutoff, status__in=finished)),
    }


def _delete(rows: QuerySet) -> int:
    """Delete the rows; return how many of them (not counting cascaded ones)."""
    return rows.delete()[1].get(rows.model._meta.label, 0)
