from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from . import alerts
from .models import AlertRule
from .permissions import can_view

LAST_CHECK = [
    "state",
    "last_share_percent",
    "last_events",
    "last_checked_at",
    "last_notified_at",
    "last_error",
]


def _allowed(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_staff and can_view(request.user)


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """Alerts on the unmatched share: analysts and product managers configure them."""

    list_display = [
        "name",
        "event_name",
        "threshold_percent",
        "window_minutes",
        "state",
        "last_share_percent",
        "last_checked_at",
        "enabled",
    ]
    list_filter = ["state", "enabled"]
    search_fields = ["name", "event_name"]
    fieldsets = [
        (None, {"fields": ["name", "enabled", "event_name"]}),
        ("When", {"fields": ["threshold_percent", "window_minutes", "min_events"]}),
        ("Who hears it", {"fields": ["emails", "webhook_url", "repeat_minutes"]}),
        ("Last check", {"fields": LAST_CHECK}),
    ]
    readonly_fields = LAST_CHECK
    actions = ["send_test"]

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs: Any):
        if db_field.name == "webhook_url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="last share")
    def last_share_percent(self, obj: AlertRule) -> str:
        return "-" if obj.last_share is None else f"{obj.last_share:.2%}"

    @admin.action(description="Send a test notification")
    def send_test(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        for rule in queryset:
            found = alerts.measure(rule, timezone.now())
            problem = alerts.notify(rule, alerts.message(rule, found, "test"))
            if problem:
                self.message_user(request, f"{rule}: {problem}", messages.ERROR)
            else:
                self.message_user(request, f"{rule}: test notification sent.", messages.SUCCESS)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _allowed(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _allowed(request)
