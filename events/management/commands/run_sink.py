import logging
import os
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from prometheus_client import start_http_server

from events import instances
from events.consumer import run_until_stopped
from events.sinks.runner import KINDS, ConfigurationError, build, layout

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Write one kind of events to storage as large, compressed, Hive-partitioned files, "
        "exactly once: raw (gzip JSON Lines), unmatched (gzip JSON Lines), avro (Avro object "
        "container files of every contract's topic) or parquet. Run more of the same kind to "
        "share its partitions. SIGTERM writes and commits what is open, then stops."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument(
            "--instance",
            default=os.environ.get("SINK_INSTANCE"),
            help="static group member name, unique among the sinks of this kind and kept across "
            "restarts, so that a restarted sink takes its partitions back at once (default: "
            "$SINK_INSTANCE, else <host name>-<n>, the first n free on this host)",
        )

    def handle(self, *args, kind: str, instance: str | None, **options) -> None:
        instance = instance or instances.claim(f"sink-{settings.SINK_CONSUMER_GROUP_PREFIX}-{kind}")
        try:
            layout()
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        if settings.SINK_METRICS_PORT:
            start_http_server(settings.SINK_METRICS_PORT)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        logger.info("sink-%s %s: started", kind, instance)
        run_until_stopped(f"sink-{kind}", lambda: build(kind, instance), stop.is_set)
        logger.info("sink-%s %s: stopped", kind, instance)
