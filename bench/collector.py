"""Collector benchmark: events/s through the HTTP API next to two ceilings measured in the same run.

Run ``.venv/bin/python bench/collector.py`` (or ``make bench``). It starts its own Kafka broker,
a SQLite database and two gunicorns (``analytics_site/gunicorn.conf.py``) in a temporary
folder: the collector, and ``bench/ceiling_app.py``, a minimal WSGI app that produces each body
item as it is and waits for the acks. Then it measures, one after the other on the same broker
and topic:

1. a bare confluent-kafka producer sending the very records the collector would produce
   (acks=all, idempotent, the same linger.ms): the machine's Kafka ceiling;
2. single-event requests (``wrk``, keep-alive connections), to the ceiling app, then to the
   collector;
3. batch requests of ``--batch-size`` events, likewise.

It prints events/s, latency and the ratios to the bare producer and to the HTTP ceiling, then
checks that the raw topic holds at least every event the servers acknowledged. See
bench/README.md.
"""

import argparse
import contextlib
import json
import os
import runpy
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devservices._process import free_port, stop_process, wait_until  # noqa: E402
from devservices.kafka import KafkaBroker  # noqa: E402

SINGLE_AIM_REQUESTS = 1500
BATCH_AIM_RATIO = 0.60  # of the HTTP ceiling
CLIENT_IDS = 1000
WRK_MARKER = "BENCH-RESULT "
GUNICORN_CONFIG = ROOT / "analytics_site" / "gunicorn.conf.py"

# wrk loads this script once per thread and once more in its main state; every state reads the
# bodies from the file named by BENCH_BODIES (one JSON body a line) and sends them in turn.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Api-Key " .. os.getenv("BENCH_API_KEY")

local prepared = {}
for body in io.lines(os.getenv("BENCH_BODIES")) do
  prepared[#prepared + 1] = wrk.format(nil, nil, nil, body)
end
local position = 0
not_accepted = 0
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function response(status, headers, body)
  if status ~= 202 then
    not_accepted = not_accepted + 1
  end
end

function done(summary, latency, requests)
  local rejected = 0
  for _, thread in ipairs(threads) do
    rejected = rejected + thread:get("not_accepted")
  end
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "not_accepted": %d, "socket_errors": %d, '
    .. '"timeouts": %d, "p50_us": %d, "p99_us": %d}\\n',
    os.getenv("BENCH_MARKER"), summary.requests, summary.duration, rejected,
    e.connect + e.read + e.write, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Phase:
    """What one measured phase achieved."""

    name: str
    events: int
    seconds: float
    requests: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    failed: int = 0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class Load:
    """A wrk run: its bodies and how many events each request carries."""

    bodies: Path
    events_per_request: int


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each phase")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured load before each")
    parser.add_argument("--concurrency", type=int, default=64, help="open HTTP connections")
    parser.add_argument("--batch-size", type=int, default=100, help="events per batch request")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY (gunicorn.conf.py default)")
    parser.add_argument("--threads", type=int, help="WEB_THREADS (gunicorn.conf.py default)")
    args = parser.parse_args()
    if not 0 < args.seconds <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--seconds must be in (0, 600] and --warmup in [0, 60]")
    return args


def configure_django(work: Path, broker: KafkaBroker) -> None:
    """Point this process (and, through os.environ, gunicorn) at the private services."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="analytics_site.settings",
        SECRET_KEY=secrets.token_urlsafe(50),  # a throwaway deployment's own key
        DATABASE_URL=f"sqlite:///{work / 'db.sqlite3'}",
        KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
        KAFKA_RAW_TOPIC="bench.events.raw",
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
        PROMETHEUS_MULTIPROC_DIR=str(work / "prometheus"),
    )
    (work / "prometheus").mkdir()
    import django

    django.setup()


def prepare_database() -> str:
    """Migrate, then create a client app and a key whose rate limit the bench cannot reach."""
    from django.core.management import call_command

    from events.models import ClientAPIKey, ClientApp

    call_command("migrate", interactive=False, verbosity=0)
    app = ClientApp.objects.create(name="Benchmark", slug="bench")
    _, key = ClientAPIKey.objects.create_key(name="bench", app=app, rate_limit="1000000/s")
    return key


def make_event(number: int) -> dict[str, Any]:
    return {
        "event": "checkout_completed",
        "timestamp": "2026-11-25T10:00:00Z",
        "platform": "ios",
        "app_version": "4.2.0",
        "client_id": f"device-{number % CLIENT_IDS:04d}",
        "properties": {"order_id": f"A-{number}", "total": 42.5, "currency": "EUR", "items": 3},
    }


def write_bodies(path: Path, requests: int, events_per_request: int) -> Load:
    """One JSON body a line: single objects, or arrays of ``events_per_request`` objects."""
    with path.open("w") as out:
        for request in range(requests):
            events = [
                make_event(request * events_per_request + i) for i in range(events_per_request)
            ]
            out.write(json.dumps(events[0] if events_per_request == 1 else events) + "\n")
    return Load(path, events_per_request)


def start_gunicorn(
    work: Path, args: argparse.Namespace, app: str, log_name: str
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "WEB_BIND": f"127.0.0.1:{port}"}
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if args.threads:
        env["WEB_THREADS"] = str(args.threads)
    log = (work / log_name).open("ab")
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", str(GUNICORN_CONFIG), app],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return process, f"http://127.0.0.1:{port}"


def _listening(process: subprocess.Popen, url: str) -> bool:
    if process.poll() is not None:
        raise RuntimeError("gunicorn exited early")
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def server_description(args: argparse.Namespace) -> str:
    """The worker settings gunicorn runs with: the options, else its config file's values."""
    config = runpy.run_path(str(GUNICORN_CONFIG))
    workers = args.workers or config["workers"]
    threads = args.threads or config["threads"]
    return f"gunicorn {config['worker_class']}, {workers} workers x {threads} threads"


def bare_producer(seconds: float) -> tuple[Phase, int]:
    """Produce the collector's own records with the collector's producer settings.

    Returns the measured phase and the records acknowledged during the warm-up, which waits
    for the producer's idempotence id.
    """
    from confluent_kafka import Producer
    from django.conf import settings
    from django.utils import timezone

    from analytics_site.kafka import client_config
    from events.collector import collect

    body = json.dumps([make_event(n) for n in range(500)]).encode()
    collected = collect(body, "bench", timezone.now())
    records = [(record.key, record.value) for record in collected.records]
    outcome = {"delivered": 0, "failed": 0}

    def on_delivery(error: object, message: object) -> None:
        outcome["failed" if error else "delivered"] += 1

    producer = Producer(
        client_config(
            **{"acks": "all", "enable.idempotence": True, "on_delivery": on_delivery},
            **{"linger.ms": settings.KAFKA_PRODUCER_LINGER_MS},
        )
    )
    _produce_all(producer, settings.KAFKA_RAW_TOPIC, records)
    producer.flush(60)
    warmup = outcome["delivered"]
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        _produce_all(producer, settings.KAFKA_RAW_TOPIC, records)
    producer.flush(60)
    elapsed = time.perf_counter() - started
    name = "bare confluent-kafka producer"
    return Phase(name, outcome["delivered"] - warmup, elapsed, failed=outcome["failed"]), warmup


def _produce_all(producer: Any, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    for key, value in records:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.005)
    producer.poll(0)


def run_wrk(url: str, api_key: str, load: Load, seconds: int, connections: int) -> dict:
    env = {
        **os.environ,
        "BENCH_API_KEY": api_key,
        "BENCH_BODIES": str(load.bodies),
        "BENCH_MARKER": WRK_MARKER,
    }
    script = load.bodies.with_suffix(".lua")
    script.write_text(WRK_SCRIPT)
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "15s",
        "-s",
        str(script),
        f"{url}/api/v1/events",
    ]
    output = subprocess.run(
        command, env=env, capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith(WRK_MARKER))
    return json.loads(line.removeprefix(WRK_MARKER))


def http_phase(
    name: str, url: str, api_key: str, load: Load, args: argparse.Namespace
) -> tuple[Phase, int]:
    """Warm up (each worker makes its producer on first use), then measure.

    Returns the measured phase and the events acknowledged during the warm-up.
    """
    warmup = 0
    if args.warmup:
        warmup = _phase(
            name, run_wrk(url, api_key, load, args.warmup, args.concurrency), load
        ).events
    return _phase(name, run_wrk(url, api_key, load, args.seconds, args.concurrency), load), warmup


def _phase(name: str, result: dict, load: Load) -> Phase:
    failed = result["not_accepted"] + result["socket_errors"] + result["timeouts"]
    accepted = result["requests"] - result["not_accepted"]
    return Phase(
        name,
        events=accepted * load.events_per_request,
        seconds=result["duration_us"] / 1e6,
        requests=result["requests"],
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        failed=failed,
    )


def topic_record_count() -> int:
    """Sum of the raw topic's high watermarks: every record the broker has."""
    from confluent_kafka import Consumer, TopicPartition
    from django.conf import settings

    from analytics_site.kafka import client_config

    consumer = Consumer(client_config(**{"group.id": "bench-count"}))
    try:
        topic = settings.KAFKA_RAW_TOPIC
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        )
    finally:
        consumer.close()


def _number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def report(phases: dict[str, Phase], server: str, args: argparse.Namespace) -> bool:
    """Print the table and the aims; return whether the aims were met without errors."""
    bare = phases["bare"].events_per_second
    print(
        f"\n{server}; wrk 1 thread, {args.concurrency} connections; "
        f"{args.seconds:g} s per phase; {os.cpu_count()} CPUs"
    )
    print(
        f"{'phase':<40}{'events/s':>12}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'vs bare':>9}{'vs HTTP ceiling':>17}{'errors':>8}"
    )
    ceilings = {"single": phases["ceiling single"], "batch": phases["ceiling batch"]}
    for key, phase in phases.items():
        requests = phase.requests_per_second if phase.requests else None
        ceiling = ceilings.get(key)
        versus = f"{phase.events_per_second / ceiling.events_per_second:.1%}" if ceiling else "-"
        print(
            f"{phase.name:<40}{_number(phase.events_per_second):>12}{_number(requests):>10}"
            f"{_number(phase.p50_ms, 1):>9}{_number(phase.p99_ms, 1):>9}"
            f"{phase.events_per_second / bare:>9.1%}{versus:>17}{phase.failed:>8}"
        )
    single, batch = phases["single"], phases["batch"]
    batch_ratio = batch.events_per_second / ceilings["batch"].events_per_second
    aims = [
        (
            f"single-event requests >= {SINGLE_AIM_REQUESTS:,} req/s",
            f"{single.requests_per_second:,.0f} req/s",
            single.requests_per_second >= SINGLE_AIM_REQUESTS,
        ),
        (
            f"{args.batch_size}-event batches >= {BATCH_AIM_RATIO:.0%} of the HTTP ceiling",
            f"{batch_ratio:.1%}",
            batch_ratio >= BATCH_AIM_RATIO,
        ),
    ]
    print("\nAims")
    for aim, achieved, met in aims:
        print(f"  {aim:<55} {achieved:>12}  {'met' if met else 'NOT MET'}")
    return all(met for *_, met in aims)


def check_errors(phases: list[Phase]) -> bool:
    failed = {phase.name: phase.failed for phase in phases if phase.failed}
    for name, count in failed.items():
        print(
            f"\n!!! ERRORS: {name}: {count:,} requests/records failed (non-202 or socket "
            "errors); the figures above do not show a clean run !!!"
        )
    return not failed


def check_topic(acknowledged: int) -> bool:
    stored = topic_record_count()
    ok = stored >= acknowledged
    print(
        f"\nTopic check: raw topic holds {stored:,} records; {acknowledged:,} were acknowledged "
        f"(bare producer + API, warm-ups included): {'OK' if ok else '!!! MISSING RECORDS !!!'}"
    )
    return ok


def measure(work: Path, args: argparse.Namespace, stack: contextlib.ExitStack) -> bool:
    broker = KafkaBroker(work / "kafka")
    configure_django(work, broker)
    print(f"Starting Kafka at {broker.bootstrap_servers} ...", flush=True)
    broker.start()
    stack.callback(broker.stop)
    from django.conf import settings

    from analytics_site.kafka import create_topics

    create_topics([settings.KAFKA_RAW_TOPIC])
    api_key = prepare_database()
    single = write_bodies(work / "single.jsonl", 1000, 1)
    batch = write_bodies(work / "batch.jsonl", 100, args.batch_size)
    urls = {}
    for name, app in (
        ("collector", "analytics_site.wsgi:application"),
        ("ceiling", "bench.ceiling_app:application"),
    ):
        server, url = start_gunicorn(work, args, app, f"gunicorn-{name}.log")
        stack.callback(stop_process, server)
        stack.push(_show_log_on_error(work / f"gunicorn-{name}.log"))
        wait_until(partial(_listening, server, url), 60.0, f"gunicorn ({name}) at {url}")
        urls[name] = url
    print(f"gunicorn ready at {urls['collector']} (ceiling: {urls['ceiling']}); measuring ...")

    phases, warmups = {}, 0
    phases["bare"], warmups = bare_producer(args.seconds)
    batch_name = f"{args.batch_size}-event batch requests"
    for key, name, url, load in (
        ("ceiling single", "HTTP ceiling: single-event requests", urls["ceiling"], single),
        ("single", "single-event requests", urls["collector"], single),
        ("ceiling batch", f"HTTP ceiling: {batch_name}", urls["ceiling"], batch),
        ("batch", batch_name, urls["collector"], batch),
    ):
        phases[key], warmup = http_phase(name, url, api_key, load, args)
        warmups += warmup
    aims_met = report(phases, server_description(args), args)
    clean = check_errors(list(phases.values()))
    acknowledged = sum(phase.events for phase in phases.values()) + warmups
    return check_topic(acknowledged) and clean and aims_met


def _show_log_on_error(log: Path) -> Callable[..., None]:
    """An exit callback that prints the end of gunicorn's log when the bench failed."""

    def show(error_type: type[BaseException] | None, *_: object) -> None:
        if error_type is not None and error_type is not KeyboardInterrupt and log.exists():
            tail = log.read_text(errors="replace").splitlines()[-30:]
            print(f"--- last lines of {log.name} ---", *tail, sep="\n", file=sys.stderr)

    return show


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed: run `apt-get install -y wrk` (as root) or `make bench`.",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with (
        tempfile.TemporaryDirectory(prefix="bench-collector-") as folder,
        contextlib.ExitStack() as stack,
    ):
        ok = measure(Path(folder), args, stack)
    print("\nResult: " + ("all aims met, no errors" if ok else "see above: not all aims met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
