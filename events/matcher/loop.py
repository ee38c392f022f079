"""A matcher: the shared consumer loop on the raw topic, with the transactional commit policy."""

from django.conf import settings

from analytics_site.kafka import create_topics, platform_topics
from events.consumer import ConsumerConfig, ConsumerLoop

from .processor import MatchProcessor
from .transactional import Processor, TransactionalPolicy


def matcher_loop(
    instance: str,
    processor: Processor | None = None,
    batch_size: int | None = None,
    batch_seconds: float | None = None,
) -> ConsumerLoop:
    """The matcher named ``instance``: its transactional id and its static group membership."""
    create_topics(platform_topics())
    return ConsumerLoop(
        TransactionalPolicy(
            processor or MatchProcessor(),
            transactional_id=f"{settings.MATCHER_TRANSACTIONAL_ID_PREFIX}-{instance}",
            transaction_timeout_ms=settings.MATCHER_TRANSACTION_TIMEOUT_MS,
            overlap=settings.MATCHER_OVERLAP_COMMITS,
        ),
        ConsumerConfig(
            name="matcher",
            group=settings.MATCHER_CONSUMER_GROUP,
            topics=(settings.KAFKA_RAW_TOPIC,),
            batch_size=batch_size or settings.MATCHER_BATCH_SIZE,
            batch_seconds=batch_seconds or settings.MATCHER_BATCH_SECONDS,
            session_timeout_ms=settings.MATCHER_SESSION_TIMEOUT_MS,
            instance=instance,
        ),
    )
