import json
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from events import demo
from events.models import ClientAPIKey, ClientApp

DEMO_USER = "admin"
DEMO_PASSWORD = "admin"


class Command(BaseCommand):
    help = (
        "Create a demo admin login, team, published contracts, a client app with an API key, "
        "and (once) a burst of matched and unmatched events (development only). Safe to run "
        "again: it reuses what exists and sends the burst only once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--base-url", default=settings.SITE_URL)
        parser.add_argument("--no-events", action="store_true", help="do not send the burst")

    def handle(self, *args, base_url: str, no_events: bool, **options) -> None:
        user_model = get_user_model()
        admin = user_model.objects.filter(username=DEMO_USER).first()
        if admin is None:
            admin = user_model.objects.create_superuser(
                DEMO_USER, "admin@example.com", DEMO_PASSWORD
            )
        contracts = demo.set_up(admin)
        app, _ = ClientApp.objects.get_or_create(
            slug="demo", defaults={"name": "Demo app", "description": "Created by make run."}
        )
        key = self._demo_key(app)
        if not no_events:
            self._send_burst_once()
        body = json.dumps(
            {
                **demo.CURL_EVENT,
                "timestamp": "2026-11-25T10:00:00Z",
                "properties": demo.CURL_PROPERTIES,
            }
        )
        self.stdout.write(
            f"""
  Event analytics platform is starting
  ------------------------------------
  Dashboard:  {base_url}/dashboard/   (login {DEMO_USER} / {DEMO_PASSWORD})
  Admin:      {base_url}/admin/
  API docs:   {base_url}/api/docs/
  Readiness:  {base_url}/readyz      Metrics: {base_url}/metrics
  Demo key:   {key}
  Contracts:  {", ".join(c.event_name for c in contracts)} (published)

  Send an event (it matches the demo contract {demo.CURL_EVENT["event"]}):
  curl -i -X POST {base_url}/api/v1/events \\
    -H 'Authorization: Api-Key {key}' -H 'Content-Type: application/json' \\
    -d '{body}'
"""
        )

    def _send_burst_once(self) -> None:
        marker = settings.VAR_DIR / "demo-events-sent"
        if marker.exists():
            return
        # A running matcher reloads contracts every MATCHER_CONTRACT_REFRESH_SECONDS: events sent
        # before it has seen the demo contracts would all be unknown events.
        time.sleep(2 * settings.MATCHER_CONTRACT_REFRESH_SECONDS + 1)
        try:
            sent = demo.send_burst(timezone.now())
        except Exception as exc:  # Kafka not reachable: the next start tries again
            self.stderr.write(f"Demo events not sent ({exc}); the next start tries again.")
            return
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{sent}\n")
        self.stdout.write(f"Sent {sent} demo events to {settings.KAFKA_RAW_TOPIC}.")

    def _demo_key(self, app: ClientApp) -> str:
        # Only a key's hash is stored, so the demo key's text is kept in var/ to print it again.
        key_file = settings.VAR_DIR / "demo-api-key"
        if key_file.exists():
            key = key_file.read_text().strip()
            if ClientAPIKey.objects.is_valid(key):
                return key
        _, key = ClientAPIKey.objects.create_key(name="demo key", app=app, rate_limit="1000/s")
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(key)
        return key
