"""Prometheus metrics of the sinks (run_sink), labelled by sink kind.

Served on SINK_METRICS_PORT, and through the web's /metrics when PROMETHEUS_MULTIPROC_DIR is
shared. The consumer loop adds ``consumer_lag`` and batch latency for every consumer.
"""

from prometheus_client import Counter, Gauge, Histogram

FILES = Counter("sink_files_written", "Files made visible in storage.", ["sink", "kind"])
BYTES = Counter("sink_bytes_written", "Bytes of the files made visible.", ["sink", "kind"])
RECORDS = Counter("sink_records_written", "Records in the files made visible.", ["sink", "kind"])
FLUSH_LATENCY = Histogram(
    "sink_flush_latency_seconds",
    "From closing a partition's files to the offset commit after their upload.",
    ["sink"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DEAD_LETTERS = Counter(
    "sink_dead_letters",
    "Records kept under errors/ instead of their file, by reason (counted when routed).",
    ["sink", "reason"],
)
OPEN_FILES = Gauge("sink_open_files", "Files being filled.", ["sink"], multiprocess_mode="livesum")
BUFFERED_BYTES = Gauge(
    "sink_buffered_bytes", "Memory held by open files.", ["sink"], multiprocess_mode="livesum"
)
OLDEST_OPEN_SECONDS = Gauge(
    "sink_oldest_open_file_seconds",
    "Age of the oldest open file: how late the newest data may show in storage.",
    ["sink"],
    multiprocess_mode="livemax",
)
UPLOAD_RETRIES = Counter(
    "sink_upload_retries", "Uploads that failed and were tried again.", ["sink"]
)
