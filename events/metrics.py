"""Prometheus metrics of the collector, served at /metrics.

Under a multi-process web server set PROMETHEUS_MULTIPROC_DIR (``make run`` does) so that
/metrics adds up every worker's numbers.
"""

import os

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

EVENTS_ACCEPTED = Counter(
    "collector_events_accepted", "Events acknowledged by Kafka and reported as stored."
)
EVENTS_REJECTED = Counter(
    "collector_events_rejected", "Events of a batch refused by the sanity checks.", ["reason"]
)
REQUESTS_REJECTED = Counter(
    "collector_requests_rejected", "Collector requests refused as a whole.", ["reason"]
)
PRODUCE_LATENCY = Histogram(
    "collector_produce_latency_seconds",
    "Time from producing a request's events to the broker's acknowledgement of all of them.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


# The matcher (run_matcher). Under PROMETHEUS_MULTIPROC_DIR the web's /metrics includes them.
MATCHER_MATCHED = Counter(
    "matcher_events_matched", "Raw events written to their contract's Avro topic.", ["contract"]
)
MATCHER_UNMATCHED = Counter(
    "matcher_events_unmatched",
    "Raw events written to the unmatched topic; contract is empty for unknown events.",
    ["contract", "reason"],
)

# Every long-running consumer (events.consumer): label ``consumer`` is "matcher", "sink-raw", ...
CONSUMER_BATCH_LATENCY = Histogram(
    "consumer_batch_latency_seconds",
    "Time from a batch's records leaving the consumer to the commit of their offsets.",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
CONSUMER_LAG = Gauge(
    "consumer_lag",
    "Records not yet consumed, per partition, as seen by the consumer that owns it.",
    ["consumer", "topic", "partition"],
    multiprocess_mode="livemax",
)
