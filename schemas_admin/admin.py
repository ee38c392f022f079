"""The contracts admin: product managers write, check, compare and publish versions."""

import difflib
import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import ProtectedError, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from . import avro, history, publishing, versions
from .codegen.admin import CodegenAdminMixin
from .forms import ContractVersionForm, starting_schema
from .models import (
    ContractChange,
    ContractVersion,
    EventContract,
    SubjectVersion,
    Team,
    refuse_deletion,
)
from .permissions import can_edit, contract_for_subject, editable_teams, why_not_add

Status = ContractVersion.Status


def named(version: ContractVersion) -> str:
    """How messages name a version; they start with a word, as the admin capitalises them."""
    return f"Version {version.version} of {version.contract}"


def is_staff(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_staff


class TeamOwnedAdmin(admin.ModelAdmin):
    """Staff view everything; members of the owning team (and superusers) edit."""

    def contract_of(self, obj: Any) -> EventContract:
        raise NotImplementedError

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_staff(request) and can_edit(request.user, None)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        contract = None if obj is None else self.contract_of(obj)
        return is_staff(request) and can_edit(request.user, contract)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request)


class ReadOnlyInline(admin.TabularInline):
    """Listed on the contract page for every staff member; never edited there."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionInline(ReadOnlyInline):
    model = ContractVersion
    fields = ["version_link", "status", "publish_state", "author", "published_at", "changelog"]
    readonly_fields = fields

    @admin.display(description="version")
    def version_link(self, obj: ContractVersion) -> str:
        url = reverse("admin:schemas_admin_contractversion_change", args=[obj.pk])
        return format_html('<a href="{}">v{}</a>', url, obj.version)


class ChangeInline(ReadOnlyInline):
    model = ContractChange
    verbose_name_plural = "history"
    fields = ["at", "user", "action", "version", "details"]
    readonly_fields = fields


@admin.register(EventContract)
class EventContractAdmin(CodegenAdminMixin, TeamOwnedAdmin):
    list_display = ["event_name", "team", "compatibility", "output_topic", "status", "latest"]
    list_filter = ["team", "status", "compatibility"]
    search_fields = ["event_name", "description", "output_topic"]
    fields = [
        "event_name",
        "namespace",
        "team",
        "description",
        "compatibility",
        "output_topic",
        "status",
        "new_version",
        "tracking_code",
    ]
    readonly_fields = ["new_version", "tracking_code"]
    inlines = [VersionInline, ChangeInline]

    def contract_of(self, obj: EventContract) -> EventContract:
        return obj

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Only those who may write versions are pointed at the button that writes one.
        if can_edit(request.user, obj):
            return self.fields
        return [name for name in self.fields if name != "new_version"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Published versions live in the registry under names derived from these.
        if obj is not None and versions.released_before(obj, None):
            return [*self.readonly_fields, "event_name", "namespace", "output_topic"]
        return self.readonly_fields

    @admin.display(description="latest version")
    def latest(self, obj: EventContract) -> str:
        latest = obj.versions.order_by("-version").first()
        return f"v{latest.version} ({latest.status})" if latest else "-"

    @admin.display(description="versions")
    def new_version(self, obj: EventContract) -> str:
        if obj.pk is None:
            return "Save the contract, then write its first version."
        url = reverse("admin:schemas_admin_contractversion_add")
        return format_html(
            '<a class="button" href="{}?contract={}">Write a new version</a>', url, obj.pk
        )

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any):
        if db_field.name == "team":
            kwargs["queryset"] = editable_teams(request.user)
            if not Team.objects.exists():
                kwargs["help_text"] = (
                    "There is no team yet: create the one that owns this event with the + "
                    "button; its members will edit and publish the contract."
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        if is_staff(request) and not self.has_add_permission(request):
            self.message_user(request, why_not_add(request.user), messages.INFO)
        return super().changelist_view(request, extra_context)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if is_staff(request) and not self.has_add_permission(request):
            self.message_user(request, why_not_add(request.user), messages.WARNING)
            return HttpResponseRedirect(reverse("admin:schemas_admin_eventcontract_changelist"))
        return super().add_view(request, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        # The deletion would stop at released versions; say so up front, with what to do
        # instead, rather than listing "protected related objects".
        contract = self.get_object(request, unquote(object_id))
        if contract is not None and self.has_delete_permission(request, contract):
            try:
                refuse_deletion(contract.versions.all())
            except ProtectedError as exc:
                self.message_user(request, exc.args[0], messages.ERROR)
                url = reverse("admin:schemas_admin_eventcontract_change", args=[contract.pk])
                return HttpResponseRedirect(url)
        return super().delete_view(request, object_id, extra_context)

    def save_model(self, request: HttpRequest, obj: EventContract, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        details = ", ".join(form.changed_data)
        history.record(
            obj,
            "contract changed" if change else "contract created",
            user=request.user,
            details=details,
        )


@admin.register(ContractVersion)
class ContractVersionAdmin(TeamOwnedAdmin):
    form = ContractVersionForm
    list_display = ["__str__", "status", "publish_state", "author", "published_at"]
    list_filter = ["status", "publish_state", "contract__team"]
    search_fields = ["contract__event_name", "changelog"]
    list_select_related = ["contract", "author"]
    actions = ["publish_selected", "deprecate_selected", "retry_selected"]
    info_fields = [
        "version",
        "status",
        "author",
        "created_at",
        "published_at",
        "deprecated_at",
        "publish_state",
        "publish_error",
        "registry_subject",
        "registry_schema_id",
    ]
    check_fields = ["compatibility_check", "example_payload"]

    def contract_of(self, obj: ContractVersion) -> EventContract:
        return obj.contract

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        draft = obj is None or obj.status == Status.DRAFT
        return draft and super().has_delete_permission(request, obj)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["contract", "schema", "changelog"]
        if obj.status != Status.DRAFT:
            return ["contract", "schema_json", "changelog", *self.check_fields, *self.info_fields]
        return ["contract", "schema", "changelog", *self.check_fields, *self.info_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        if obj.status != Status.DRAFT:
            return ["contract", "schema_json", "changelog", *self.check_fields, *self.info_fields]
        return ["contract", *self.check_fields, *self.info_fields]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        contract = EventContract.objects.filter(pk=request.GET.get("contract") or None).first()
        if contract is not None:
            initial["schema"] = starting_schema(contract)
        return initial

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any):
        if db_field.name == "contract":
            kwargs["queryset"] = EventContract.objects.filter(
                team__in=editable_teams(request.user), status=EventContract.Status.ACTIVE
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ContractVersion, form, change: bool) -> None:
        if not change:
            obj.version = versions.next_number(obj.contract)
            obj.author = request.user
        super().save_model(request, obj, form, change)
        action = "draft edited" if change else "draft created"
        history.record(
            obj.contract,
            action,
            user=request.user,
            version=obj,
            details=", ".join(form.changed_data),
        )
        reasons = versions.compatibility_problems(obj.contract, obj.schema, obj.version)
        if reasons:
            self.message_user(
                request,
                "Saved, but this draft cannot be published yet: " + " ".join(reasons),
                messages.WARNING,
            )

    @admin.display(description="schema")
    def schema_json(self, obj: ContractVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.schema, indent=2))

    @admin.display(description="compatibility")
    def compatibility_check(self, obj: ContractVersion) -> str:
        mode = obj.contract.compatibility
        earlier = versions.released_before(obj.contract, obj.version)
        if obj.status != Status.DRAFT:
            return f"Checked when it was published ({mode})."
        if not earlier:
            return "This is the first version: there is nothing to be compatible with."
        reasons = versions.compatibility_problems(obj.contract, obj.schema, obj.version)
        if not reasons:
            return format_html(
                '<strong style="color: #1a7f37">Compatible</strong> with version {} ({}).',
                ", ".join(str(v.version) for v in earlier),
                mode,
            )
        return format_html(
            '<strong style="color: #ba2121">Not compatible ({}):</strong>'
            '<ul style="margin-left: 0">{}</ul>',
            mode,
            format_html_join("", "<li>{}</li>", ((reason,) for reason in reasons)),
        )

    @admin.display(description="example payload")
    def example_payload(self, obj: ContractVersion) -> str:
        try:
            properties = avro.example(obj.schema)
        except (avro.InvalidSchema, KeyError, TypeError, ValueError):
            return "-"
        event = {
            "event": obj.contract.event_name,
            "timestamp": timezone.now().isoformat(timespec="milliseconds"),
            "platform": "web",
            "app_version": "1.0.0",
            "client_id": "device-1",
            "contract_version": obj.version,
            "properties": properties,
        }
        return format_html(
            "<p>A complete request body for <code>POST /api/v1/events</code> (with "
            "<code>Authorization: Api-Key &lt;key&gt;</code>) that matches this version:</p>"
            '<pre class="example-payload">{}</pre>',
            json.dumps(event, indent=2),
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        editable = obj is not None and self.has_change_permission(request, obj)
        extra = {
            "can_publish": editable and obj.status == Status.DRAFT,
            "can_deprecate": editable and obj.status == Status.PUBLISHED,
            "can_retry": editable and obj.publish_state == ContractVersion.PublishState.FAILED,
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: ContractVersion | None = None,
    ) -> HttpResponse:
        # Published versions are immutable: no save buttons where nothing can be saved. A new
        # version starts from its contract's page, so "Save and add another" has no place.
        draft = obj is None or obj.status == Status.DRAFT
        context.update(
            show_save=draft, show_save_and_continue=draft, show_save_and_add_another=False
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/diff/", view(self.diff_view), name="schemas_admin_contractversion_diff"),
            path(
                "<int:pk>/publish/",
                view(self.step_view(publishing.publish, "published")),
                name="schemas_admin_contractversion_publish",
            ),
            path(
                "<int:pk>/deprecate/",
                view(self.step_view(publishing.deprecate, "deprecated")),
                name="schemas_admin_contractversion_deprecate",
            ),
            path(
                "<int:pk>/retry/",
                view(self.step_view(publishing.retry, "sent again")),
                name="schemas_admin_contractversion_retry",
            ),
            *super().get_urls(),
        ]

    def step_view(self, step, done: str):
        @require_POST
        def run(request: HttpRequest, pk: int) -> HttpResponse:
            version = get_object_or_404(ContractVersion.objects.select_related("contract"), pk=pk)
            if not self.has_change_permission(request, version):
                self.message_user(request, "Only the owning team can do this.", messages.ERROR)
            else:
                self.run_step(request, step, version, done)
            return HttpResponseRedirect(
                reverse("admin:schemas_admin_contractversion_change", args=[pk])
            )

        return run

    def run_step(self, request: HttpRequest, step, version: ContractVersion, done: str) -> None:
        which = named(version)
        try:
            step(version, request.user)
        except publishing.PublishRefused as exc:
            self.message_user(
                request, f"{which} was not {done}: " + " ".join(exc.problems), messages.ERROR
            )
        else:
            self.message_user(request, f"{which} was {done}.", messages.SUCCESS)

    def run_action(self, request: HttpRequest, queryset: QuerySet, step, done: str) -> None:
        for version in queryset.select_related("contract"):
            if self.has_change_permission(request, version):
                self.run_step(request, step, version, done)
            else:
                self.message_user(
                    request,
                    f"{named(version)}: only the owning team can do this.",
                    messages.ERROR,
                )

    @admin.action(description="Publish selected drafts")
    def publish_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.run_action(request, queryset, publishing.publish, "published")

    @admin.action(description="Deprecate selected versions")
    def deprecate_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.run_action(request, queryset, publishing.deprecate, "deprecated")

    @admin.action(description="Send selected versions to the registry again")
    def retry_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.run_action(request, queryset, publishing.retry, "sent again")

    def diff_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(ContractVersion.objects.select_related("contract"), pk=pk)
        others = version.contract.versions.exclude(pk=pk).order_by("-version")
        against = (
            others.filter(pk=request.GET.get("against") or None).first()
            or others.filter(version__lt=version.version).first()
            or others.first()
        )
        table = against and difflib.HtmlDiff(wrapcolumn=70).make_table(
            json.dumps(against.schema, indent=2).splitlines(),
            json.dumps(version.schema, indent=2).splitlines(),
            f"v{against.version} ({against.status})",
            f"v{version.version} ({version.status})",
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Compare {version.contract} versions",
            "opts": self.model._meta,
            "original": version,
            "others": others,
            "against": against,
            "table": table,
        }
        return TemplateResponse(request, "schemas_admin/version_diff.html", context)


@admin.register(SubjectVersion)
class SubjectVersionAdmin(admin.ModelAdmin):
    """The built-in registry's subjects, including those that no contract stands behind."""

    list_display = ["subject", "version", "schema_id", "deleted", "contract", "created_at"]
    list_filter = ["deleted"]
    search_fields = ["subject"]
    fields = ["subject", "version", "schema_id", "deleted", "contract", "created_at", "text"]
    readonly_fields = fields

    @admin.display(description="contract")
    def contract(self, obj: SubjectVersion) -> str:
        contract = contract_for_subject(obj.subject)
        return str(contract) if contract else "(none)"

    @admin.display(description="schema")
    def text(self, obj: SubjectVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(json.loads(obj.schema.schema), indent=2))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
