"""Fixtures of the matcher's tests; load with ``pytest_plugins = ["tests.matcher_fixtures"]``."""

import os
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from analytics_site.kafka import create_topics
from tests.matcher_helpers import MatcherProcess, MatcherSetup


@pytest.fixture
def matcher_setup(transactional_db, settings, raw_topic) -> MatcherSetup:
    """Fresh unmatched topic and consumer group; ``env`` runs ``manage.py run_matcher`` against
    them and this test's database (the data must be committed: transactional_db)."""
    suffix = uuid.uuid4().hex[:12]
    settings.KAFKA_UNMATCHED_TOPIC = f"test.unmatched.{suffix}"
    settings.MATCHER_CONSUMER_GROUP = f"test-matcher-{suffix}"
    settings.MATCHER_TRANSACTIONAL_ID_PREFIX = f"test-matcher-{suffix}"
    settings.MATCHER_BATCH_SECONDS = 0.2
    settings.MATCHER_CONTRACT_REFRESH_SECONDS = 0.5
    create_topics([settings.KAFKA_UNMATCHED_TOPIC])
    database_url = urlsplit(os.environ["DATABASE_URL"])._replace(
        path="/" + connection.settings_dict["NAME"]
    )
    env = {
        **os.environ,
        "DATABASE_URL": urlunsplit(database_url),
        "KAFKA_RAW_TOPIC": raw_topic,
        "KAFKA_UNMATCHED_TOPIC": settings.KAFKA_UNMATCHED_TOPIC,
        "KAFKA_TOPIC_PARTITIONS": str(settings.KAFKA_TOPIC_PARTITIONS),
        "MATCHER_CONSUMER_GROUP": settings.MATCHER_CONSUMER_GROUP,
        "MATCHER_TRANSACTIONAL_ID_PREFIX": settings.MATCHER_TRANSACTIONAL_ID_PREFIX,
        "MATCHER_BATCH_SIZE": "200",
        "MATCHER_BATCH_SECONDS": "0.2",
        "MATCHER_CONTRACT_REFRESH_SECONDS": "0.5",
        "MATCHER_SESSION_TIMEOUT_MS": "6000",
        "LOG_LEVEL": "INFO",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return MatcherSetup(
        raw_topic, settings.KAFKA_UNMATCHED_TOPIC, settings.MATCHER_CONSUMER_GROUP, env
    )


@pytest.fixture
def matcher_processes(matcher_setup, tmp_path) -> Iterator[Callable[[str], MatcherProcess]]:
    started: list[MatcherProcess] = []

    def start(instance: str | None) -> MatcherProcess:
        matcher = MatcherProcess(matcher_setup, instance, tmp_path).start()
        started.append(matcher)
        return matcher

    yield start
    for matcher in started:
        matcher.stop()
