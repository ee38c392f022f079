"""A sink of one kind on the shared consumer loop, configured from the settings."""

from django.conf import settings

from analytics_site.kafka import create_topics
from events.consumer import ConsumerConfig, ConsumerLoop
from schemas_admin.publishing import registry_client

from .files import Rotation
from .formats import CODECS, Compression
from .layout import Layout, LayoutError
from .policy import SinkPolicy
from .routes import MatchedRoute, RawRoute, Route, UnmatchedRoute
from .schemas import SchemaBook
from .storage import remove_leftovers, sink_storage
from .topics import ContractTopics

KINDS = ("raw", "unmatched", "avro", "parquet")
# librdkafka pauses fetching a partition for fetch.queue.backoff.ms (1 s by default) when its
# prefetch queue is full (64 MiB): a sink catching up drains that in about a second, then waited
# for the pause to end. Checking again every 20 ms keeps the queue filled.
CONSUMER_SETTINGS = {"fetch.queue.backoff.ms": 20}


class ConfigurationError(Exception):
    """A sink setting cannot be used; the message says which and why."""


def layout() -> Layout:
    """The layout of the settings, once every sink setting is checked; raises
    ``ConfigurationError`` for settings it cannot use."""
    try:
        file_layout = Layout(settings.SINK_PARTITION_FORMAT)
    except LayoutError as exc:
        raise ConfigurationError(str(exc)) from exc
    if settings.SINK_AVRO_CODEC not in CODECS:
        raise ConfigurationError(
            f"SINK_AVRO_CODEC={settings.SINK_AVRO_CODEC!r}: use one of {', '.join(CODECS)}."
        )
    if not 0 <= settings.SINK_GZIP_LEVEL <= 9:
        raise ConfigurationError(f"SINK_GZIP_LEVEL={settings.SINK_GZIP_LEVEL}: use 0 to 9.")
    if settings.SINK_COMPRESSION_THREADS < 0:
        raise ConfigurationError(
            f"SINK_COMPRESSION_THREADS={settings.SINK_COMPRESSION_THREADS}: use 0 or more."
        )
    return file_layout


def build(kind: str, instance: str | None = None) -> ConsumerLoop:
    """The consumer loop of a ``kind`` sink, ready to ``run()``."""
    file_layout = layout()
    storage = sink_storage()
    remove_leftovers(storage)
    name = f"sink-{kind}"
    compression = Compression(settings.SINK_COMPRESSION_THREADS)
    loop: ConsumerLoop | None = None
    contracts = None
    if kind in ("raw", "unmatched"):
        topics = [settings.KAFKA_RAW_TOPIC if kind == "raw" else settings.KAFKA_UNMATCHED_TOPIC]
        create_topics(topics)
        route: Route = (RawRoute if kind == "raw" else UnmatchedRoute)(
            file_layout, settings.SINK_GZIP_LEVEL, compression
        )
    else:
        contracts = ContractTopics(
            settings.SINK_CONTRACT_REFRESH_SECONDS, lambda found: loop.subscribe(found)
        )
        topics = contracts.load()
        route = MatchedRoute(
            kind,
            file_layout,
            SchemaBook(registry_client()),
            contracts.event_name,
            avro_codec=settings.SINK_AVRO_CODEC,
            parquet_compression=settings.SINK_PARQUET_COMPRESSION,
            gzip_level=settings.SINK_GZIP_LEVEL,
            compression=compression,
        )
    policy = SinkPolicy(
        name,
        route,
        storage,
        Rotation(
            settings.SINK_ROTATE_SECONDS,
            settings.SINK_ROTATE_RECORDS,
            settings.SINK_ROTATE_BYTES,
            settings.SINK_MAX_OPEN_FILES,
        ),
        memory_bytes=settings.SINK_MEMORY_BYTES,
        metadata_max_bytes=settings.SINK_OFFSET_METADATA_MAX_BYTES,
        upload_concurrency=settings.SINK_UPLOAD_CONCURRENCY,
        upload_retry_seconds=settings.SINK_UPLOAD_RETRY_SECONDS,
        on_tick=contracts.refresh if contracts is not None else None,
    )
    loop = ConsumerLoop(
        policy,
        ConsumerConfig(
            name=name,
            group=f"{settings.SINK_CONSUMER_GROUP_PREFIX}-{kind}",
            topics=tuple(topics),
            batch_size=settings.SINK_BATCH_SIZE,
            batch_seconds=settings.SINK_BATCH_SECONDS,
            session_timeout_ms=settings.SINK_SESSION_TIMEOUT_MS,
            instance=instance,
            settings=CONSUMER_SETTINGS,
        ),
    )
    return loop
