from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from .models import ClientAPIKey, ClientApp

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
    list_display = [*APIKeyModelAdmin.list_display, "app", "rate_limit"]
    list_filter = ["app", "revoked"]
    search_fields = [*APIKeyModelAdmin.search_fields, "app__name"]
