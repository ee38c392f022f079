"""Celery tasks of the contracts app."""

from celery import shared_task
from celery.app.task import Task
from django.conf import settings

from . import publishing
from .models import ContractVersion


@shared_task(bind=True, max_retries=None, acks_late=True)
def push_version(self: Task, version_id: int) -> int | None:
    """Push one published version to the registry, retrying while the failure is transient."""
    version = ContractVersion.objects.select_related("contract").filter(pk=version_id).first()
    if version is None:  # deleted since it was queued
        return None
    try:
        return publishing.push(version)
    except Exception as exc:
        retry = publishing.is_transient(exc) and (
            self.request.retries < settings.CONTRACTS_PUBLISH_MAX_RETRIES
        )
        publishing.record_failure(version, exc, final=not retry)
        if retry:
            countdown = settings.CONTRACTS_PUBLISH_RETRY_SECONDS * 2**self.request.retries
            raise self.retry(exc=exc, countdown=countdown) from exc
        return None
