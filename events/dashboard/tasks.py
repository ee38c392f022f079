"""Celery tasks of the dashboard: the traffic roll-up and the alert checks (both on beat)."""

from celery import shared_task

from .rollup import rollup


@shared_task
def rollup_traffic() -> dict[str, int]:
    """Merge, fold and expire traffic counts (see ``events.dashboard.rollup``)."""
    return rollup()
