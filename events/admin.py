from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from .matcher.replay import ReplayFilter
from .models import ClientAPIKey, ClientApp, ReplayRun, UnmatchedGroup, UnmatchedSample
from .tasks import replay_unmatched

# Keys here always belong to a client app; the library's stand-alone key model is unused.
admin.site.unregister(APIKey)


class ClientAPIKeyInline(admin.TabularInline):
    model = ClientAPIKey
    fields = ["name", "prefix", "rate_limit", "revoked", "expiry_date", "created"]
    readonly_fields = ["prefix", "created"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        # New keys are created on their own page, which shows the secret once.
        return False


@admin.register(ClientApp)
class ClientAppAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ClientAPIKeyInline]


@admin.register(ClientAPIKey)
class ClientAPIKeyAdmin(APIKeyModelAdmin):
    list_display = [
        "name",
        "app",
        "prefix",
        "rate_limit",
        "created",
        "expiry_date",
        "_has_expired",
        "revoked",
    ]
    list_filter = ["app", "revoked"]
    search_fields = [*APIKeyModelAdmin.search_fields, "app__name"]
    fields = ["app", "name", "rate_limit", "expiry_date", "revoked", "prefix"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:  # a new key is neither revoked nor has a prefix yet
            return ["app", "name", "rate_limit", "expiry_date"]
        return self.fields

    def save_model(self, request: HttpRequest, obj: ClientAPIKey, form, change: bool) -> None:
        if obj.pk:
            super().save_model(request, obj, form, change)
            return
        key = self.model.objects.assign_key(obj)
        obj.save()
        self.message_user(
            request,
            format_html(
                "The API key for {} ({}) is <code>{}</code><br>Copy it now and keep it somewhere "
                "safe: only its hash is stored, so it cannot be shown again.",
                obj.name,
                obj.app,
                key,
            ),
            messages.WARNING,
        )


class UnmatchedSampleInline(admin.TabularInline):
    model = UnmatchedSample
    fields = ["seen_at", "event_id", "detail", "raw", "raw_truncated"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UnmatchedGroup)
class UnmatchedGroupAdmin(admin.ModelAdmin):
    """Events that matched no contract, grouped by why; select groups to replay them."""

    list_display = [
        "event_name",
        "reason",
        "field",
        "count",
        "resolved_count",
        "first_seen",
        "last_seen",
    ]
    list_filter = ["reason"]
    search_fields = ["event_name", "field", "last_message"]
    readonly_fields = [f.name for f in UnmatchedGroup._meta.fields]
    inlines = [UnmatchedSampleInline]
    actions = ["replay_groups"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Replay the events of the selected groups")
    def replay_groups(self, request: HttpRequest, queryset: QuerySet[UnmatchedGroup]) -> None:
        for group in queryset:
            run = ReplayRun.objects.create(filters=ReplayFilter.for_group(group).as_json())
            transaction.on_commit(partial(replay_unmatched.delay, run.pk))
        self.message_user(
            request,
            f"Queued {queryset.count()} replay(s); follow them under Replay runs.",
            messages.SUCCESS,
        )


@admin.register(ReplayRun)
class ReplayRunAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "status",
        "filters",
        "created_at",
        "scanned",
        "total",
        "matched",
        "still_unmatched",
        "already_replayed",
    ]
    list_filter = ["status"]
    readonly_fields = [f.name for f in ReplayRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
