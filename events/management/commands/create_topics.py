import time

from confluent_kafka import KafkaException
from django.core.management.base import BaseCommand, CommandError

from analytics_site.kafka import broker_reachable, create_topics, platform_topics


class Command(BaseCommand):
    help = "Create the platform's Kafka topics (raw, unmatched) that do not exist yet."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            metavar="SECONDS",
            help="keep retrying this long while the broker is not reachable yet",
        )

    def handle(self, *args, wait: float, **options) -> None:
        deadline = time.monotonic() + wait
        while not broker_reachable(timeout=2) and time.monotonic() < deadline:
            time.sleep(1)
        try:
            created = create_topics(platform_topics(), timeout=10)
        except KafkaException as exc:
            raise CommandError(f"Kafka is not reachable: {exc.args[0].str()}") from None
        for name in platform_topics():
            state = "created" if name in created else "exists"
            self.stdout.write(f"topic {name}: {state}")
