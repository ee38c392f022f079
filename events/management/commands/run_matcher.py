import logging
import os
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from prometheus_client import start_http_server

from events import instances
from events.consumer import run_until_stopped
from events.matcher.loop import matcher_loop

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Match raw events to their contracts' Avro topics, exactly once (Kafka transactions). "
        "Run several to share the raw topic's partitions."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--instance",
            default=os.environ.get("MATCHER_INSTANCE"),
            help=(
                "name of this matcher, unique among the running ones and kept across restarts "
                "(default: $MATCHER_INSTANCE, else <host name>-<n>, the first n free on this host)"
            ),
        )

    def handle(self, *args, instance: str | None, **options) -> None:
        instance = instance or instances.claim(
            f"matcher-{settings.MATCHER_TRANSACTIONAL_ID_PREFIX}"
        )
        if settings.MATCHER_METRICS_PORT:
            start_http_server(settings.MATCHER_METRICS_PORT)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())

        logger.info("matcher %s: consuming %s", instance, settings.KAFKA_RAW_TOPIC)
        run_until_stopped("matcher", lambda: matcher_loop(instance), stop.is_set)
        logger.info("matcher %s: stopped", instance)
