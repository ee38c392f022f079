"""The Celery application; configuration comes from Django settings prefixed ``CELERY_``."""

import os

from celery import Celery

from .secret_key import require_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "analytics_site.settings")
require_settings()

app = Celery("analytics_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
