"""Celery tasks of the dashboard: the traffic roll-up and the alert checks (both on beat)."""

from celery import shared_task

from . import alerts
from .rollup import rollup


@shared_task
def rollup_traffic() -> dict[str, int]:
    """Merge, fold and expire traffic counts (see ``events.dashboard.rollup``)."""
    return rollup()


@shared_task
def check_alerts() -> dict[str, int]:
    """Check every enabled alert rule (see ``events.dashboard.alerts``)."""
    return alerts.check_all()
