"""The generated transports (TypeScript and Kotlin) against a small real HTTP server that
answers as the collector does when it is busy or refuses: 503 and 429 are retried after
Retry-After with the same batch, 400 and per-event errors are reported and not retried."""

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest_plugins = ["tests.codegen_fixtures"]
KEY = "test-key"
ENVELOPE_FIELDS = {
    "event",
    "timestamp",
    "platform",
    "app_version",
    "properties",
    "event_id",
    "contract_version",
    "client_id",
    "sent_at",
}


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    events: list[dict]


@dataclass
class FakeCollector:
    """Answers request n with ``answers[n]`` (the last one repeats): (status, headers, body),
    where a body of None means "accept every event" as the collector does."""

    answers: list[tuple[int, dict[str, str], dict | None]]
    received: list[Received] = field(default_factory=list)

    def answer(self, events: list[dict]) -> tuple[int, dict[str, str], dict]:
        status, headers, body = self.answers[min(len(self.received), len(self.answers)) - 1]
        if body is None:
            listed = [{"index": i, "event_id": e["event_id"]} for i, e in enumerate(events)]
            body = {"accepted": len(events), "rejected": 0, "events": listed, "errors": []}
        return status, headers, body


@pytest.fixture
def collector() -> Iterator:
    servers = []

    def start(*answers: tuple[int, dict[str, str], dict | None]) -> tuple[FakeCollector, str]:
        fake = FakeCollector(list(answers))

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                events = json.loads(self.rfile.read(length))
                fake.received.append(Received(time.monotonic(), dict(self.headers), events))
                status, headers, body = fake.answer(events)
                payload = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return fake, f"http://127.0.0.1:{server.server_port}/api/v1/events"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


ACCEPT = (202, {}, None)
CLIENTS = ["typescript_client", "kotlin_client"]


def sent_at(request: Received) -> datetime:
    moments = {datetime.fromisoformat(event["sent_at"]) for event in request.events}
    assert len(moments) == 1  # one send, one moment
    return moments.pop()


@pytest.mark.parametrize("status", [503, 429])
@pytest.mark.parametrize("client", CLIENTS)
def test_busy_collector_gets_the_same_batch_again_after_retry_after(
    request, client, status, collector
):
    busy = {"detail": "Try again later.", "code": "busy"}
    fake, url = collector((status, {"Retry-After": "1"}, busy), ACCEPT)

    result = request.getfixturevalue(client).run(url, KEY)

    assert result["errors"] == []
    first, second = fake.received
    assert [e["event_id"] for e in first.events] == result["ids"]
    assert [e["event_id"] for e in second.events] == result["ids"]
    assert [e["properties"] for e in first.events] == [e["properties"] for e in second.events]
    assert second.at - first.at >= 0.9  # it waited as Retry-After said
    assert (sent_at(second) - sent_at(first)).total_seconds() >= 0.9  # and sent_at says so
    for received in (first, second):
        assert received.headers["Authorization"] == f"Api-Key {KEY}"
        assert received.headers["Content-Type"].startswith("application/json")
        assert all(set(event) >= ENVELOPE_FIELDS for event in received.events)


@pytest.mark.parametrize("client", CLIENTS)
def test_refused_request_is_reported_not_retried(request, client, collector):
    fake, url = collector((400, {}, {"detail": "Malformed JSON.", "code": "parse_error"}))

    result = request.getfixturevalue(client).run(url, KEY)

    assert len(fake.received) == 1
    [error] = result["errors"]
    assert (error["kind"], error["status"]) == ("refused", 400)
    assert error["eventIds"] == result["ids"]
    assert "Malformed JSON." in error["message"]


@pytest.mark.parametrize("client", CLIENTS)
def test_events_the_collector_rejects_are_reported_by_id(request, client, collector):
    answer = {
        "accepted": 3,
        "rejected": 1,
        "events": [],
        "errors": [{"index": 1, "code": "invalid", "field": "timestamp", "message": "Bad time"}],
    }
    fake, url = collector((202, {}, answer))

    result = request.getfixturevalue(client).run(url, KEY)

    assert len(fake.received) == 1
    [error] = result["errors"]
    assert error["kind"] == "rejected"
    assert error["eventIds"] == [result["ids"][1]]
    assert "Bad time" in error["message"]


@pytest.mark.parametrize("client", CLIENTS)
def test_gives_up_after_max_attempts(request, client, collector):
    fake, url = collector((503, {"Retry-After": "0"}, {"detail": "Down.", "code": "down"}))

    result = request.getfixturevalue(client).run(url, KEY)

    assert len(fake.received) == 4  # the clients' maxAttempts
    [error] = result["errors"]
    assert (error["kind"], error["status"]) == ("gave_up", 503)
    assert error["eventIds"] == result["ids"]
