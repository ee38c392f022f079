"""The embedded default database (SQLite) under concurrent registry writes, through gunicorn
with several worker processes and threads, as ``make run`` serves it."""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devservices._process import free_port, port_open, stop_process, wait_until
from schemas_admin.registry.auth import PUBLISHER, publisher_password

ROOT = Path(__file__).resolve().parent.parent
PARALLEL = 16


@pytest.fixture
def sqlite_registry(tmp_path: Path) -> Iterator[str]:
    """gunicorn (2 workers x 8 threads) on a fresh SQLite file; the registry's URL."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "8",
        "SITE_URL": f"http://127.0.0.1:{port}",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "analytics_site/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(lambda: port_open(port) or server.poll() is not None, 120, "gunicorn")
        assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
        yield f"http://127.0.0.1:{port}/registry"
    finally:
        stop_process(server)
        log.close()


def schema(number: int) -> str:
    """Version ``number`` of a record: each adds a field with a default, so any order of them
    is BACKWARD compatible."""
    fields = [{"name": "id", "type": "string"}]
    fields.append({"name": f"extra_{number}", "type": "int", "default": 0})
    return json.dumps({"type": "record", "name": "Concurrent", "fields": fields})


def test_parallel_registrations_all_succeed(sqlite_registry: str) -> None:
    auth = (PUBLISHER, publisher_password())
    start = threading.Barrier(PARALLEL)
    responses: dict[int, requests.Response] = {}

    def register(number: int) -> None:
        start.wait()
        responses[number] = requests.post(
            f"{sqlite_registry}/subjects/concurrent-value/versions",
            json={"schema": schema(number)},
            auth=auth,
            timeout=60,
        )

    threads = [threading.Thread(target=register, args=(n,)) for n in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    failures = {n: (r.status_code, r.text) for n, r in responses.items() if r.status_code != 200}
    assert len(responses) == PARALLEL and failures == {}
    ids = {response.json()["id"] for response in responses.values()}
    assert len(ids) == PARALLEL
    versions = requests.get(f"{sqlite_registry}/subjects/concurrent-value/versions", timeout=30)
    assert versions.json() == list(range(1, PARALLEL + 1))
