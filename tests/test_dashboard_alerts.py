"""Alert rules on the unmatched share: checked like Celery beat does, notifying by email and by a
real HTTP webhook."""

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from events.dashboard import alerts
from events.dashboard.models import AlertRule
from events.dashboard.tasks import check_alerts
from tests.dashboard_fixtures import traffic

pytestmark = pytest.mark.django_db


class Webhook:
    """An HTTP server on 127.0.0.1 that keeps the JSON bodies posted to it."""

    def __init__(self, status: int = 200) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append((self.headers["Content-Type"], json.loads(self.rfile.read(length))))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/analytics"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    server = Webhook()
    yield server
    server.stop()


def rule(**values) -> AlertRule:
    defaults = {
        "name": "Checkout quality",
        "event_name": "checkout_completed",
        "threshold_percent": 5,
        "window_minutes": 60,
        "min_events": 100,
        "emails": "data@example.com, pm@example.com",
    }
    return AlertRule.objects.create(**{**defaults, **values})


def test_an_alert_fires_once_reminds_and_resolves(webhook, settings):
    settings.SITE_URL = "https://analytics.example.com"
    watched = rule(webhook_url=webhook.url, repeat_minutes=30)
    traffic(900)
    traffic(100, reason="invalid_field", field="total")
    traffic(5000, event_name="page_viewed", reason="unknown_event")  # another event
    now = timezone.now()

    assert alerts.check_all(now) == {"checked": 1, "notified": 1}
    assert alerts.check_all(now + timedelta(minutes=10))["notified"] == 0
    assert alerts.check_all(now + timedelta(minutes=31))["notified"] == 1  # a reminder
    assert alerts.check_all(now + timedelta(hours=3))["notified"] == 1  # no traffic: resolved

    [first, reminder, resolved] = [body["text"] for _, body in webhook.received]
    assert webhook.received[0][0] == "application/json"
    assert first.startswith(
        "[firing] Checkout quality: 10.0% of events “checkout_completed” matched no contract in "
        "the last 60 minutes (100 of 1,000; alert at 5.00%)."
    )
    assert "https://analytics.example.com/dashboard/?since=" in first
    assert "&event=checkout_completed" in first
    assert reminder.startswith("[still firing]") and resolved.startswith("[resolved]")
    assert [m.to for m in mail.outbox] == [["data@example.com", "pm@example.com"]] * 3
    assert mail.outbox[0].subject.startswith("[firing] Checkout quality: 10.0%")
    watched.refresh_from_db()
    assert (watched.state, watched.last_events, watched.last_error) == ("ok", 0, "")


def test_the_overall_rule_counts_every_event_and_waits_for_enough_of_them():
    overall = rule(name="All traffic", event_name="", threshold_percent=50, min_events=10)
    traffic(4)
    traffic(5, event_name="page_viewed", reason="unknown_event")

    check_alerts.apply()
    overall.refresh_from_db()
    assert (overall.state, overall.last_events) == ("ok", 9)  # under min_events

    traffic(2, event_name="page_viewed", reason="unknown_event")
    check_alerts.apply()
    overall.refresh_from_db()
    assert (overall.state, overall.last_events) == ("firing", 11)
    assert overall.last_share == pytest.approx(7 / 11)
    assert len(mail.outbox) == 1 and "of all events" in mail.outbox[0].body


def test_a_failing_webhook_is_recorded_and_email_still_goes_out():
    dead = Webhook(status=500)
    try:
        watched = rule(webhook_url=dead.url, min_events=1)
        traffic(1, reason="invalid_field")
        alerts.check_all()
    finally:
        dead.stop()
    watched.refresh_from_db()
    assert watched.state == "firing"
    assert watched.last_error.startswith("webhook: HTTP Error 500")
    assert len(mail.outbox) == 1


def test_disabled_rules_are_not_checked():
    rule(enabled=False, min_events=1)
    traffic(1, reason="invalid_field")
    assert alerts.check_all() == {"checked": 0, "notified": 0}
    assert mail.outbox == []


def test_a_rule_needs_valid_addresses_or_a_webhook():
    with pytest.raises(ValidationError, match="'not-an-address' is not an email address"):
        AlertRule(
            name="x", threshold_percent=1, emails="a@example.com, not-an-address"
        ).full_clean()
    with pytest.raises(ValidationError, match="someone must hear it"):
        AlertRule(name="y", threshold_percent=1).full_clean()
    with pytest.raises(ValidationError, match="webhook_url"):
        AlertRule(name="z", threshold_percent=1, webhook_url="file:///etc/passwd").full_clean()


def test_alert_rules_are_configured_in_the_admin(admin_client, webhook):
    response = admin_client.post(
        "/admin/dashboard/alertrule/add/",
        {
            "name": "Web quality",
            "enabled": "on",
            "event_name": "",
            "threshold_percent": "2.5",
            "window_minutes": "15",
            "min_events": "50",
            "emails": "",
            "webhook_url": webhook.url,
            "repeat_minutes": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = AlertRule.objects.get(name="Web quality")

    admin_client.post(
        "/admin/dashboard/alertrule/",
        {"action": "send_test", "_selected_action": [created.pk]},
    )

    assert [body["text"][:18] for _, body in webhook.received] == ["[test] Web quality"]
