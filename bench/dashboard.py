"""Dashboard benchmark: page render times over a month of realistic traffic counts.

Run ``.venv/bin/python bench/dashboard.py``. For each database (SQLite in a temporary folder,
then a throwaway PostgreSQL from ``devservices.postgres``) it migrates, seeds the traffic counts
of 10,000,000 matched and 1,000,000 unmatched events over 30 days (50 events, 5 client apps on 4
platforms, 20 app versions, 300 unmatched groups with 20 samples each, a daily cycle), laid out
in the tiers the roll-up keeps (minutes for TRAFFIC_MINUTES_HOURS, hours for TRAFFIC_HOURS_DAYS,
days before), runs the roll-up over it (a first pass that summarizes the month, then the pass
that runs when an hour ends, both timed), then renders every dashboard page ``--requests``
times through Django's test client (the whole request: URL routing, session, queries,
templates) and prints p50/p95 per page against the 300 ms aim, with the machine's load average,
and the median CPU time of the benchmark's own process per page: on SQLite (which runs in that
process) it is close to what the page takes on a machine nobody else is using; on PostgreSQL it
leaves the server's share out.

``--scale 0.01`` seeds a hundredth of the events (for a quick look); ``--only sqlite`` or
``--only postgres`` runs one database; ``--keep DIR`` keeps the SQLite file for ``runserver``.
"""

import argparse
import json
import math
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AIM_MS = 300.0
DAYS = 30
MATCHED_EVENTS = 10_000_000
UNMATCHED_EVENTS = 1_000_000
GROUPS = 300
SAMPLES_PER_GROUP = 20
APPS = {  # client app -> (platform, app versions)
    "shop-ios": ("ios", ["4.1.0", "4.2.0", "4.2.1", "4.3.0", "4.4.0"]),
    "shop-android": ("android", ["4.1.2", "4.2.0", "4.3.0", "4.3.1", "4.4.0"]),
    "shop-web": ("web", ["2026.10.2", "2026.11.1", "2026.11.3"]),
    "kiosk": ("android", ["1.8.0", "1.9.0", "2.0.0"]),
    "orders-service": ("backend", ["7.12", "7.13", "7.14", "7.15"]),
}
REASONS = [("invalid_field", 0.6), ("unknown_event", 0.25), ("unknown_version", 0.1)]
REASONS += [("deprecated_version", 0.04), ("malformed_json", 0.01)]
FIELDS = ["total", "items[].qty", "items[].sku", "currency", "user.email", "paid_at", "coupon"]


def event_names(rng: random.Random) -> list[str]:
    verbs = ["viewed", "clicked", "completed", "started", "opened", "shared", "added", "removed"]
    nouns = ["page", "product", "checkout", "cart", "search", "banner", "video", "order"]
    names = sorted({f"{rng.choice(nouns)}_{rng.choice(verbs)}" for _ in range(400)})
    return rng.sample(names, 50)


def zipf(count: int, exponent: float = 1.1) -> list[float]:
    return [1 / (rank**exponent) for rank in range(1, count + 1)]


def daily(moment: datetime) -> float:
    """Traffic is twice as busy in the (UTC) afternoon as at night."""
    return 1 + 0.5 * math.sin((moment.hour + moment.minute / 60 - 9) / 24 * 2 * math.pi)


def keys(rng: random.Random, names: list[str]) -> tuple[list[tuple], list[float], list[tuple]]:
    """Matched keys with weights, and the unmatched groups' keys with their weights."""
    matched, weights = [], []
    event_weight = dict(zip(names, zipf(len(names)), strict=True))
    for app, (platform, versions) in APPS.items():
        for name in rng.sample(names, 30):
            for i, version in enumerate(versions):
                matched.append((name, 1 + i % 3, "", "", app, platform, version))
                weights.append(event_weight[name] * (i + 1))
    groups, seen = [], set()
    unknown = [f"legacy_{name}" for name in names[:20]]
    index = 0
    while len(groups) < GROUPS:
        index += 1
        reason = rng.choices([r for r, _ in REASONS], [w for _, w in REASONS])[0]
        name = rng.choice(unknown if reason == "unknown_event" else names)
        path = rng.choice(FIELDS) if reason == "invalid_field" else ""
        if reason == "malformed_json":
            name = ""
        app = rng.choice(list(APPS))
        platform, versions = APPS[app]
        senders = [(app, platform, v) for v in rng.sample(versions, rng.randint(1, 2))]
        version = rng.randint(1, 3) if reason in ("invalid_field", "unknown_version") else 0
        key = (name, reason, f"{path}#{index}" if path else "")
        if key not in seen:
            seen.add(key)
            groups.append((key, version, senders))
    return matched, weights, groups


def buckets(now: datetime):
    """(start, seconds) of each bucket the roll-up keeps, oldest first."""
    from events.dashboard.traffic import hours_from, minutes_from

    start = (now - timedelta(days=DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    hours, minutes = hours_from(now), minutes_from(now)
    moment = start
    while moment < now:
        size = 86400 if moment < hours else 3600 if moment < minutes else 60
        yield moment, size
        moment += timedelta(seconds=size)


def spread(rng: random.Random, total: float, weights: list[float], draws: int) -> Counter:
    """``total`` events over the keys: exact sampling for small buckets, rounded shares for
    large ones (where every key gets its expected share)."""
    if total <= draws:
        return Counter(rng.choices(range(len(weights)), weights, k=round(total)))
    whole = sum(weights)
    counts = Counter()
    for index, weight in enumerate(weights):
        expected = total * weight / whole
        count = int(expected) + (rng.random() < expected - int(expected))
        if count:
            counts[index] = count
    return counts


def seed(now: datetime, scale: float) -> dict[str, int]:
    from django.contrib.auth.models import User

    from events.models import TrafficCount, UnmatchedGroup, UnmatchedSample
    from schemas_admin.models import Team

    rng = random.Random(7)
    names = event_names(rng)
    matched, weights, groups = keys(rng, names)
    group_weights = zipf(len(groups), 1.2)
    span = DAYS * 86400
    rows, batch = 0, []
    group_totals = Counter()
    first_seen: dict[int, datetime] = {}
    last_seen: dict[int, datetime] = {}

    def flush() -> None:
        nonlocal rows, batch
        TrafficCount.objects.bulk_create(batch, batch_size=5000)
        rows += len(batch)
        batch = []

    for moment, size in buckets(now):
        share = size / span * daily(moment) * scale
        for index, count in spread(rng, MATCHED_EVENTS * share, weights, 20_000).items():
            batch.append(_row(moment, matched[index], count))
        expected = UNMATCHED_EVENTS * share
        for index, count in spread(rng, expected, group_weights, 20_000).items():
            (name, reason, path), version, senders = groups[index]
            group_totals[index] += count
            first_seen.setdefault(index, moment)
            last_seen[index] = moment + timedelta(seconds=size - 1)
            for part, (app, platform, app_version) in zip(
                _split(count, len(senders)), senders, strict=True
            ):
                if part:
                    key = (name, version, reason, path, app, platform, app_version)
                    batch.append(_row(moment, key, part))
        if len(batch) >= 20_000:
            flush()
    flush()
    for index, total in group_totals.items():
        (name, reason, path), version, senders = groups[index]
        group = UnmatchedGroup.objects.create(
            event_name=name,
            reason=reason,
            field=path,
            count=total,
            first_seen=first_seen[index],
            last_seen=last_seen[index],
            last_message=f"Version {version}: {path}: expected int, got string",
        )
        UnmatchedSample.objects.bulk_create(
            _sample(rng, group, version, senders, n) for n in range(SAMPLES_PER_GROUP)
        )
    user = User.objects.create_superuser("bench", password="bench")
    Team.objects.create(name="Bench", slug="bench").members.add(user)
    return {"traffic_rows": rows, "groups": len(group_totals)}


def _row(moment: datetime, key: tuple, count: int):
    from events.dashboard.rollup import KEY_FIELDS
    from events.models import TrafficCount

    return TrafficCount(minute=moment, count=count, **dict(zip(KEY_FIELDS, key, strict=True)))


def _split(count: int, parts: int) -> list[int]:
    return [count // parts + (i < count % parts) for i in range(parts)]


def _sample(rng, group, version, senders, n):
    from events.models import UnmatchedSample

    app, platform, app_version = rng.choice(senders)
    event = {
        "event": group.event_name,
        "event_id": f"00000000-0000-4000-8000-{group.pk:06d}{n:06d}",
        "timestamp": "2026-11-25T10:00:00.123+01:00",
        "platform": platform,
        "app_version": app_version,
        "client_id": f"device-{rng.randint(1, 10**6)}",
        "client_app": app,
        "received_at": "2026-11-25T09:00:00.456000+00:00",
        "properties": {
            "order_id": f"A-{rng.randint(1, 10**6)}",
            "total": "lots" if "total" in group.field else 42.5,
            "currency": "EUR",
            "items": [
                {"sku": f"sku-{i}", "qty": "2" if "qty" in group.field else 2} for i in range(3)
            ],
            "user": {"email": f"user{n}@example.com", "segment": "returning"},
        },
    }
    detail = {
        "reason": group.reason,
        "message": group.last_message,
        "event_name": group.event_name,
        "contract_version": version or None,
        "field": group.field.split("#")[0].replace("[]", "[0]") or None,
        "group_field": group.field,
        "expected": "int" if group.field else None,
        "actual": "string" if group.field else None,
    }
    return UnmatchedSample(
        group=group,
        event_id=event["event_id"],
        seen_at=group.last_seen - timedelta(minutes=n),
        detail=detail,
        raw=json.dumps(event),
        source_topic="events.raw",
        source_partition=n % 6,
        source_offset=group.pk * 1000 + n,
    )


def pages() -> list[tuple[str, str]]:
    from events.models import ReplayRun, UnmatchedGroup

    top = UnmatchedGroup.objects.order_by("-count").first()
    unknown = UnmatchedGroup.objects.filter(reason="unknown_event").order_by("-count").first()
    run = ReplayRun.objects.create(
        filters={"groups": [[top.event_name, top.reason, top.field]]},
        status="succeeded",
        total=120_000,
        scanned=120_000,
        selected=4_000,
        matched=3_900,
        still_unmatched=100,
        failures=[
            {
                "event_name": top.event_name,
                "reason": top.reason,
                "field": top.field,
                "count": 100,
                "message": top.last_message,
            }
        ],
    )
    return [
        ("overview, last 24 hours", "/dashboard/"),
        ("overview, last hour", "/dashboard/?range=1h"),
        ("overview, last 7 days", "/dashboard/?range=7d"),
        ("overview, last 30 days", "/dashboard/?range=30d"),
        ("overview, 24 h, event + app", f"/dashboard/?event={top.event_name}&app=shop-ios"),
        (
            "overview, 7 d, 2 app versions",
            "/dashboard/?range=7d&app_version=4.2.0&app_version=4.3.0",
        ),
        ("overview, 24 h, search samples", "/dashboard/?q=user7%40example.com"),
        ("group detail, 24 h", f"/dashboard/groups/{top.pk}/"),
        ("group detail, 30 d", f"/dashboard/groups/{top.pk}/?range=30d"),
        ("draft preview", f"/dashboard/groups/{unknown.pk}/draft/"),
        ("replay result", f"/dashboard/replays/{run.pk}/"),
        ("replays list", "/dashboard/replays/"),
        ("export CSV, one group", f"/dashboard/export.csv?group={top.pk}"),
    ]


def measure(requests: int) -> list[tuple[str, float, float]]:
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username="bench"))
    results = []
    for name, url in pages():
        timings, cpu = [], []
        for attempt in range(requests + 2):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (url, response.status_code, body[:500])
            if attempt >= 2:  # the first two warm caches up
                timings.append(elapsed)
                cpu.append((time.process_time() - started_cpu) * 1000)
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        results.append((name, statistics.median(timings), p95, statistics.median(cpu)))
    return results


def worker(args: argparse.Namespace) -> None:
    """One database: migrate, seed, roll up, measure; prints a JSON line."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "analytics_site.settings")
    os.environ["ALLOWED_HOSTS"] = "testserver"  # Django's test client
    # Pages are rendered, not served with their files: no collectstatic manifest is needed.
    os.environ["STATICFILES_BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from events.dashboard.models import DailyTraffic, HourlyTraffic
    from events.dashboard.rollup import rollup

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC)
    started = time.perf_counter()
    seeded = seed(now, args.scale)
    seeded["seed_seconds"] = round(time.perf_counter() - started, 1)
    # The first pass (as an hour ago) summarizes the month, as after an upgrade; the second is
    # the pass that runs once an hour ends: it summarizes that hour's rows.
    for name, moment in (("first_rollup", now - timedelta(hours=1)), ("hourly_rollup", now)):
        started = time.perf_counter()
        seeded[name] = rollup(moment)
        seeded[f"{name}_seconds"] = round(time.perf_counter() - started, 2)
    seeded["summaries"] = [HourlyTraffic.objects.count(), DailyTraffic.objects.count()]
    if connection.vendor == "postgresql":  # what autovacuum does after a bulk load
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    results = measure(args.requests)
    print(json.dumps({"seeded": seeded, "results": results}))


def run_on(database_url: str, args: argparse.Namespace) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DATABASE_CONN_MAX_AGE": "0"}
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # a throwaway deployment's own key
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--scale",
        str(args.scale),
        "--requests",
        str(args.requests),
    ]
    output = subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def report(database: str, outcome: dict) -> bool:
    seeded = outcome["seeded"]
    hourly, daily = seeded["summaries"]
    print(
        f"\n{database}: {seeded['traffic_rows']:,} traffic rows, {seeded['groups']} groups "
        f"(seeded in {seeded['seed_seconds']} s)\n"
        f"  roll-up: first pass {seeded['first_rollup_seconds']} s "
        f"({seeded['first_rollup']['summarized']:,} rows summarized), hourly pass "
        f"{seeded['hourly_rollup_seconds']} s ({seeded['hourly_rollup']['summarized']:,} rows); "
        f"summaries: {hourly:,} hourly and {daily:,} daily rows"
    )
    print(f"  {'page':<34} {'p50 ms':>8} {'p95 ms':>8} {'p95/aim':>8} {'CPU p50':>8}")
    ok = True
    for name, p50, p95, cpu in outcome["results"]:
        ratio = p95 / AIM_MS
        ok &= ratio <= 1
        flag = "" if ratio <= 1 else "  over the aim"
        print(f"  {name:<34} {p50:8.1f} {p95:8.1f} {ratio:8.2f} {cpu:8.1f}{flag}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--keep", type=Path, help="keep the SQLite database in this folder")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    from devservices.postgres import PostgresServer

    print(f"load average at start: {os.getloadavg()}")
    all_ok = True
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        folder = args.keep or Path(tmp)
        if args.only in (None, "sqlite"):
            sqlite = folder / "bench.sqlite3"
            sqlite.unlink(missing_ok=True)
            all_ok &= report("SQLite", run_on(f"sqlite:///{sqlite}", args))
        if args.only in (None, "postgres"):
            os.chmod(tmp, 0o755)
            postgres = PostgresServer(Path(tmp) / "postgres")
            postgres.start()
            try:
                all_ok &= report("PostgreSQL", run_on(postgres.url, args))
            finally:
                postgres.stop()
    print(f"\nload average at end: {os.getloadavg()}")
    print(f"aim: every page under {AIM_MS:.0f} ms at p95: {'met' if all_ok else 'NOT met'}")
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
