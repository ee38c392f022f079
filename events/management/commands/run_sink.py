import logging
import os
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from prometheus_client import start_http_server

from events.sinks.runner import KINDS, ConfigurationError, build

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
            default=os.environ.get("SINK_INSTANCE") or None,
            help="static group member name, unique and kept across restarts: a restarted "
            "instance takes its partitions back at once (default: $SINK_INSTANCE, else none)",
        )

    def handle(self, *args, kind: str, instance: str | None, **options) -> None:
        try:
            loop = build(kind, instance)
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        if settings.SINK_METRICS_PORT:
            start_http_server(settings.SINK_METRICS_PORT)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: loop.stop())
        logger.info("sink-%s: started", kind)
        loop.run()
        logger.info("sink-%s: stopped", kind)
