import logging
import os
import signal
import socket

from django.conf import settings
from django.core.management.base import BaseCommand
from prometheus_client import start_http_server

from events.kafka import create_topics
from events.matcher.processor import BatchReporter, MatchProcessor
from events.matcher.transactional import LoopConfig, TransactionalLoop

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Match raw events to their contracts' Avro topics, exactly once (Kafka transactions). "
        "Run several, each with its own --instance, to share the raw topic's partitions."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--instance",
            default=os.environ.get("MATCHER_INSTANCE", socket.gethostname()),
            help=(
                "name of this matcher, unique among the running ones and kept across restarts "
                "(default: $MATCHER_INSTANCE, else the host name)"
            ),
        )

    def handle(self, *args, instance: str, **options) -> None:
        create_topics([settings.KAFKA_RAW_TOPIC, settings.KAFKA_UNMATCHED_TOPIC])
        if settings.MATCHER_METRICS_PORT:
            start_http_server(settings.MATCHER_METRICS_PORT)
        loop = TransactionalLoop(
            MatchProcessor(),
            LoopConfig(
                topic=settings.KAFKA_RAW_TOPIC,
                group=settings.MATCHER_CONSUMER_GROUP,
                transactional_id=f"{settings.MATCHER_TRANSACTIONAL_ID_PREFIX}-{instance}",
                batch_size=settings.MATCHER_BATCH_SIZE,
                batch_seconds=settings.MATCHER_BATCH_SECONDS,
                session_timeout_ms=settings.MATCHER_SESSION_TIMEOUT_MS,
                transaction_timeout_ms=settings.MATCHER_TRANSACTION_TIMEOUT_MS,
            ),
            on_batch=BatchReporter(),
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: loop.stop())
        logger.info("matcher %s: consuming %s", instance, settings.KAFKA_RAW_TOPIC)
        loop.run()
        logger.info("matcher %s: stopped", instance)
