from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI description of API keys)
