from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from events.models import ClientAPIKey, ClientApp

DEMO_USER = "admin"
DEMO_PASSWORD = "admin"


class Command(BaseCommand):
    help = (
        "Create a demo admin login and a demo client app with an API key (development only). "
        "Safe to run again: it reuses what exists."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--base-url", default=settings.SITE_URL)

    def handle(self, *args, base_url: str, **options) -> None:
        user_model = get_user_model()
        if not user_model.objects.filter(username=DEMO_USER).exists():
            user_model.objects.create_superuser(DEMO_USER, "admin@example.com", DEMO_PASSWORD)
        app, _ = ClientApp.objects.get_or_create(
            slug="demo", defaults={"name": "Demo app", "description": "Created by make run."}
        )
        key = self._demo_key(app)
        self.stdout.write(
            f"""
  Event analytics platform is starting
  ------------------------------------
  Admin:      {base_url}/admin/   (login {DEMO_USER} / {DEMO_PASSWORD})
  API docs:   {base_url}/api/docs/
  Readiness:  {base_url}/readyz      Metrics: {base_url}/metrics
  Demo key:   {key}

  Send an event:
  curl -i -X POST {base_url}/api/v1/events \\
    -H 'Authorization: Api-Key {key}' -H 'Content-Type: application/json' \\
    -d '{{"event": "app_opened", "timestamp": "2026-11-25T10:00:00Z", "platform": "web", \\
         "app_version": "1.0.0", "properties": {{"screen": "home"}}}}'
"""
        )

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
