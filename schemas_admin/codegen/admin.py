"""Downloads of the tracking code in the contracts admin: per contract, and for all of them."""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from ..lookup import matchable_versions
from ..models import EventContract
from .bundle import ContractNotFound, released_bundle
from .schema import CodegenError
from .views import archive_response

LABELS = {
    "typescript": "TypeScript",
    "kotlin": "Kotlin",
    "swift": "Swift",
    "jsonschema": "JSON Schema",
}


def download_links(urls: list[tuple[str, str]]) -> str:
    return format_html_join(" · ", '<a href="{}" download>{}</a>', urls)


class CodegenAdminMixin:
    """For ``EventContractAdmin``: a ``tracking_code`` field and the download views."""

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path(
                "codegen/<str:language>/",
                view(self.codegen_view),
                name="schemas_admin_eventcontract_codegen",
            ),
            path(
                "<int:pk>/codegen/<str:language>/",
                view(self.codegen_view),
                name="schemas_admin_eventcontract_codegen_contract",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        links = [
            (reverse("admin:schemas_admin_eventcontract_codegen", args=[language]), label)
            for language, label in LABELS.items()
        ]
        extra = {"codegen_links": download_links(links)}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    @admin.display(description="tracking code")
    def tracking_code(self, obj: EventContract) -> str:
        if obj.pk is None or not matchable_versions().filter(contract=obj).exists():
            return "Publish a version to download typed tracking code for it."
        links = [
            (
                reverse(
                    "admin:schemas_admin_eventcontract_codegen_contract", args=[obj.pk, language]
                ),
                label,
            )
            for language, label in LABELS.items()
        ]
        return format_html(
            "{} (zip: the published versions and a typed tracker; see the README's "
            "<em>Typed tracking code</em>)",
            download_links(links),
        )

    def codegen_view(self, request: HttpRequest, language: str, pk: int | None = None):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        event_name = None
        if pk is not None:
            event_name = get_object_or_404(EventContract, pk=pk).event_name
        try:
            bundle = released_bundle(language, event_name)
        except (ContractNotFound, CodegenError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            if pk is None:
                return HttpResponseRedirect(reverse("admin:schemas_admin_eventcontract_changelist"))
            return HttpResponseRedirect(
                reverse("admin:schemas_admin_eventcontract_change", args=[pk])
            )
        return archive_response(request, bundle, event_name)
