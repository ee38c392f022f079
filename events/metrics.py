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
