"""pytest plugin (loaded with ``-p tests.services``): real Kafka, PostgreSQL and Redis.

The servers start before Django reads its settings, so that the settings point at them, and
stop when the run ends. A variable already set in the environment (DATABASE_URL, CACHE_URL,
KAFKA_BOOTSTRAP_SERVERS) means "use that one" and nothing is started for it.
"""

import os
import secrets
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest

from devservices.kafka import KafkaBroker
from devservices.postgres import PostgresServer
from devservices.redis import RedisServer

broker_key = pytest.StashKey[KafkaBroker | None]()
_started: list = []


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Generator[None]:
    workdir = Path(tempfile.mkdtemp(prefix="analytics-tests-"))
    os.chmod(workdir, 0o755)  # PostgreSQL runs as its own user and must reach its folder
    early_config.stash[broker_key] = None
    try:
        if "DATABASE_URL" not in os.environ:
            postgres = PostgresServer(workdir / "postgres")
            postgres.start()
            _started.append(postgres)
            os.environ["DATABASE_URL"] = postgres.url
        if "CACHE_URL" not in os.environ:
            redis = RedisServer()
            redis.start()
            _started.append(redis)
            os.environ["CACHE_URL"] = f"{redis.url}/0"
            os.environ["CELERY_BROKER_URL"] = f"{redis.url}/1"
        if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
            broker = KafkaBroker(workdir / "kafka")
            broker.start()
            _started.append(broker)
            early_config.stash[broker_key] = broker
            os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
    except BaseException:
        _stop_all()
        raise
    os.environ.setdefault("COLLECTOR_ACK_TIMEOUT_SECONDS", "3")
    # The app refuses to run without a secret key; the suite (and the processes it starts)
    # use one of their own, never a developer's var/secret-key.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    # Tests render admin pages without running collectstatic first.
    os.environ.setdefault(
        "STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    (workdir / "static").mkdir()
    os.environ.setdefault("STATIC_ROOT", str(workdir / "static"))
    early_config.add_cleanup(lambda: shutil.rmtree(workdir, ignore_errors=True))
    early_config.add_cleanup(_stop_all)
    return (yield)


def _stop_all() -> None:
    while _started:
        _started.pop().stop()
