"""gunicorn settings for the web process (``gunicorn -c analytics_site/gunicorn.conf.py``).

Threaded workers: a collector request mostly waits for Kafka's acknowledgement, and the threads
of one worker share its producer, so their events travel to the broker in common batches.
"""

import os

from prometheus_client import multiprocess

from analytics_site.secret_key import require_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "analytics_site.settings")
require_settings()  # a clear message rather than workers that fail to boot

wsgi_app = "analytics_site.wsgi:application"
bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "16"))
keepalive = 30
accesslog = os.environ.get("WEB_ACCESS_LOG") or None


def child_exit(server, worker) -> None:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.mark_process_dead(worker.pid)
