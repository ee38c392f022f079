"""A shared Kafka producer that tells each caller when the broker has its records.

Each web process keeps one idempotent producer (acks=all). A background thread serves delivery
reports, so concurrent requests share the producer's batches while each waits only for its own
records: every record's report goes to its caller's queue, through ``SimpleQueue.put``, which
librdkafka's delivery thread calls without running any Python code.
"""

import queue
import threading
import time
from collections.abc import Sequence

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import ClusterMetadata
from django.conf import settings

from analytics_site.kafka import client_config


class DeliveryFailed(Exception):
    """Some records were not acknowledged by the broker; none may be reported as stored."""


class AckingProducer:
    def __init__(self, config: dict[str, object], ack_timeout: float) -> None:
        self.ack_timeout = ack_timeout
        self._producer = Producer(
            {
                **config,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": settings.KAFKA_PRODUCER_LINGER_MS,
                # librdkafka gives up on a record about when the caller stops waiting for it.
                "message.timeout.ms": int(ack_timeout * 1000),
                "error_cb": self._on_error,
            }
        )
        self._fatal: KafkaError | None = None
        self._closed = threading.Event()
        self._reporter = threading.Thread(target=self._serve_delivery_reports, daemon=True)
        self._reporter.start()

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():  # the producer cannot be used any more: get_producer() replaces it
            self._fatal = error

    def _serve_delivery_reports(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(0.5)

    def send(self, topic: str, records: Sequence[tuple[bytes, bytes]]) -> None:
        """Produce ``(key, value)`` records; return once the broker acknowledged all of them."""
        reports: queue.SimpleQueue[KafkaError | None] = queue.SimpleQueue()
        deadline = time.monotonic() + self.ack_timeout
        try:
            for key, value in records:
                # Called as put(error, message): the error (or None) is queued.
                self._producer.produce(topic, value, key, on_delivery=reports.put)
        except (BufferError, KafkaException) as exc:
            if isinstance(exc, KafkaException) and exc.args[0].fatal():
                self._fatal = exc.args[0]
            # Records queued so far may still be delivered; the caller reports none as stored.
            raise DeliveryFailed(f"could not queue events for Kafka: {exc}") from exc
        errors = [error for error in _reports(reports, len(records), deadline) if error]
        if errors:
            if errors[0].fatal():
                self._fatal = errors[0]
            raise DeliveryFailed(f"Kafka refused the events: {errors[0].str()}")

    @property
    def broken(self) -> bool:
        """An idempotent producer that hit a fatal error must be replaced."""
        return self._fatal is not None

    def close(self) -> None:
        """Stop serving delivery reports and let librdkafka's handle go."""
        self._closed.set()
        self._reporter.join()

    def list_topics(self, topic: str, timeout: float) -> ClusterMetadata:
        return self._producer.list_topics(topic, timeout=timeout)


def _reports(
    reports: queue.SimpleQueue[KafkaError | None], count: int, deadline: float
) -> list[KafkaError | None]:
    """The ``count`` delivery reports of one send(), as they arrive before ``deadline``."""
    arrived: list[KafkaError | None] = []
    while len(arrived) < count:
        try:
            arrived.append(reports.get(timeout=max(0.0, deadline - time.monotonic())))
            # Reports come in bursts (one a produce request): take what is there at once.
            while len(arrived) < count:
                arrived.append(reports.get_nowait())
        except queue.Empty:
            if time.monotonic() >= deadline:
                raise DeliveryFailed("Kafka did not acknowledge the events in time") from None
    return arrived


_lock = threading.Lock()
_producer: AckingProducer | None = None


def get_producer() -> AckingProducer:
    """This process's producer, created on first use (after any pre-fork of the web server)."""
    global _producer
    with _lock:
        if _producer is not None and _producer.broken:
            _producer.close()
            _producer = None
        if _producer is None:
            _producer = AckingProducer(client_config(), settings.COLLECTOR_ACK_TIMEOUT_SECONDS)
        return _producer
