from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """A Django app of its own (label ``dashboard``): it has models (alert rules), templates,
    static files, tasks and URLs, and only reads what ``events`` and ``schemas_admin`` hold."""

    name = "events.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"
    default_auto_field = "django.db.models.BigAutoField"
