"""The dashboard's pages: thin views over ``traffic``, ``groups``, ``exports`` and the drafts."""

import json
from collections.abc import Callable
from functools import partial, wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from events.matcher.replay import ReplayFilter
from events.models import ReplayRun, UnmatchedGroup, UnmatchedSample
from events.tasks import replay_unmatched
from schemas_admin import drafts

from . import exports, groups, payload
from .filters import RANGES, SORTS, Filters, InvalidFilter, parse
from .permissions import can_draft, can_view
from .traffic import (
    DIMENSIONS,
    Breakdown,
    breakdown,
    bucket_starts,
    counts_by,
    group_scope,
    group_trends,
    step_for,
    timeline,
)

FACET_VALUES = 12  # values listed per facet
SAMPLES_SHOWN = 20
UNDRAFTABLE = ("malformed_json", "too_large")  # their samples carry no properties to read


def dashboard_view(view: Callable) -> Callable:
    """Login required; then only those who may see the dashboard (see ``permissions``)."""

    @login_required
    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_view(request.user):
            return render(request, "dashboard/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return checked


def _bad_filter(request: HttpRequest, error: InvalidFilter) -> HttpResponse:
    return render(request, "dashboard/bad_filter.html", {"error": str(error)}, status=400)


def _window(request: HttpRequest) -> tuple[Filters, int]:
    """The request's filters, their range starting on a whole chart bucket, and the step."""
    now = timezone.now()
    filters = parse(request.GET, now)
    step = step_for(filters.since, filters.until, now)
    return filters.aligned(step), step


@dashboard_view
def overview(request: HttpRequest) -> HttpResponse:
    try:
        filters, step = _window(request)
    except InvalidFilter as error:
        return _bad_filter(request, error)
    scope = filters.scope()
    series = timeline(scope, step)
    counts = breakdown(scope)
    selection = groups.selected(filters, scope)
    rows = selection.rows
    shown = rows[: groups.LISTED]
    trends = group_trends(scope, [row.key for row in shown], step)
    for row in shown:
        row.trend = trends[row.key]
    chart = {
        "starts": bucket_starts(scope, step),
        "matched": series.matched,
        "unmatched": series.unmatched,
        "shares": series.shares,
    }
    return render(
        request,
        "dashboard/overview.html",
        {
            "filters": filters,
            "ranges": list(RANGES),
            "sorts": SORTS,
            "step": step,
            "counts": counts,
            "facets": _facets(filters, counts),
            "rows": shown,
            "row_count": len(rows),
            "replayed": selection.replayed,
            "chart": chart,
        },
    )


def _facets(filters: Filters, counts: Breakdown) -> list[dict]:
    titles = {
        "event": "Event",
        "reason": "Reason",
        "app": "Client app",
        "platform": "Platform",
        "app_version": "App version",
    }
    facets = []
    for name, param in DIMENSIONS.items():
        chosen = filters.values.get(param, ())
        items = counts.facets[name].items()
        listed = [item for item in items if item[0] in chosen] + [
            item for item in items if item[0] not in chosen
        ][: max(FACET_VALUES - len(chosen), 0)]
        facets.append(
            {
                "param": param,
                "title": titles[param],
                "more": len(items) - len(listed),
                "values": [
                    {
                        "value": value,
                        "matched": matched,
                        "unmatched": unmatched,
                        "share": unmatched / (matched + unmatched) if matched + unmatched else 0,
                        "chosen": value in chosen,
                        "query": filters.toggled(param, value),
                    }
                    for value, matched, unmatched in listed
                ],
            }
        )
    return facets


@dashboard_view
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(UnmatchedGroup, pk=pk)
    try:
        filters, step = _window(request)
    except InvalidFilter as error:
        return _bad_filter(request, error)
    key = groups.key_of(group)
    scope = group_scope(filters.scope(), key)
    trend = group_trends(scope, [key], step)[key]
    samples = list(group.samples.all()[:SAMPLES_SHOWN])
    newest = samples[0].detail if samples else None
    contract, published = groups.current_version(group.event_name)
    pending = drafts.pending_draft(contract) if contract is not None else None
    return render(
        request,
        "dashboard/group.html",
        {
            "group": group,
            "filters": filters,
            "ranges": list(RANGES),
            "explanation": groups.explain(group, newest),
            "period_events": sum(trend),
            "open": max(group.count - group.resolved_count, 0),
            "chart": {"starts": bucket_starts(scope, step), "unmatched": trend},
            "senders": counts_by(scope, "client_app", "platform", "app_version", unmatched=True)[
                :25
            ],
            "versions_tried": counts_by(scope, "contract_version", unmatched=True),
            "samples": [_sample(sample) for sample in samples],
            "contract": contract,
            "published": published,
            "pending_draft": pending,
            "may_draft": can_draft(request.user, contract) and group.reason not in UNDRAFTABLE,
        },
    )


def _sample(sample: UnmatchedSample) -> dict:
    detail = sample.detail if isinstance(sample.detail, dict) else {}
    event = exports.parsed_event(sample.raw)
    return {
        "sample": sample,
        "detail": detail,
        "sender": {name: exports.event_value(event, name) for name in exports.EVENT_FIELDS},
        "html": payload.render(
            sample.raw, detail.get("field"), missing=detail.get("actual") == "missing"
        ),
    }


@require_POST
@dashboard_view
def start_replay(request: HttpRequest) -> HttpResponse:
    """Replay the groups ticked on the overview, or every group the filters select."""
    now = timezone.now()
    try:
        filters = parse(request.POST, now)
    except InvalidFilter as error:
        return _bad_filter(request, error)
    back = reverse("dashboard:overview") + filters.query()
    if request.POST.get("everything") == "1":
        scope = filters.scope()
        keys = [row.key for row in groups.selected(filters, scope).rows]
        replay_filter = ReplayFilter(
            since=scope.since,
            until=scope.until,
            groups=tuple(keys),
            client_apps=filters.values.get("app", ()),
            platforms=filters.values.get("platform", ()),
            app_versions=filters.values.get("app_version", ()),
        )
    else:
        ids = [value for value in request.POST.getlist("group") if value.isdigit()]
        keys = [groups.key_of(g) for g in UnmatchedGroup.objects.filter(pk__in=ids)]
        replay_filter = ReplayFilter(groups=tuple(keys))
    if not keys:
        messages.error(request, "Nothing to replay: tick groups, or filter down to some.")
        return redirect(back)
    with transaction.atomic():
        run = ReplayRun.objects.create(filters=replay_filter.as_json())
        transaction.on_commit(partial(replay_unmatched.delay, run.pk))
    return redirect("dashboard:replay", pk=run.pk)


@dashboard_view
def replay_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(ReplayRun, pk=pk)
    partial = request.headers.get("HX-Request") == "true"
    template = "dashboard/_replay_progress.html" if partial else "dashboard/replay.html"
    return render(request, template, {"run": run, "groups": run.filters.get("groups", [])})


@dashboard_view
def replay_list(request: HttpRequest) -> HttpResponse:
    runs = ReplayRun.objects.all()[:50]
    return render(request, "dashboard/replays.html", {"runs": runs})


@dashboard_view
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Samples of the groups the filters select (or all of the ``group`` ids') as JSON Lines
    or CSV."""
    now = timezone.now()
    try:
        filters = parse(request.GET, now)
    except InvalidFilter as error:
        return _bad_filter(request, error)
    ids = [value for value in request.GET.getlist("group") if value.isdigit()]
    if ids:  # every kept sample of these groups
        keys = [groups.key_of(g) for g in UnmatchedGroup.objects.filter(pk__in=ids)]
        samples = exports.samples_of(keys)
    else:
        keys = [row.key for row in groups.selected(filters, filters.scope()).rows]
        samples = exports.samples_of(keys, filters.since, filters.until)
    rows = exports.selected(samples, filters)
    lines = exports.json_lines(rows) if fmt == "jsonl" else exports.csv_lines(rows)
    response = StreamingHttpResponse(lines, content_type=exports.FORMATS[fmt])
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="unmatched-samples-{stamp}.{fmt}"'
    return response


@dashboard_view
def draft(request: HttpRequest, pk: int) -> HttpResponse:
    """Preview a contract (or next version) inferred from a group's samples; POST saves it as a
    draft and opens it in the admin."""
    group = get_object_or_404(UnmatchedGroup, pk=pk)
    contract, _ = groups.current_version(group.event_name)
    if not can_draft(request.user, contract):
        return render(request, "dashboard/forbidden.html", {"drafting": True}, status=403)
    samples = _properties(group)
    context: dict = {"group": group, "contract": contract, "sample_count": len(samples)}
    if not samples:
        context["problems"] = ["The group keeps no sample with an object of properties."]
        return render(request, "dashboard/draft.html", context, status=400)
    if contract is None:
        form = drafts.NewContractForm(
            request.POST or None,
            user=request.user,
            initial=drafts.new_contract_initial(group.event_name),
        )
        namespace = form.data.get("namespace") or form.initial["namespace"]
        inferred = drafts.preview_new(group.event_name, namespace, samples)
        context["form"] = form
    else:
        context["pending"] = drafts.pending_draft(contract)
        inferred = drafts.preview_next(contract, samples)
    context["inferred"] = inferred
    context["schema"] = json.dumps(inferred.schema, indent=2) if inferred else ""
    if request.method == "POST":
        try:
            if contract is None:
                made = drafts.draft_new_contract(form, samples, request.user)
            else:
                made = drafts.draft_next_version(contract, samples, request.user)
        except drafts.DraftRefused as refused:
            context["problems"] = refused.problems
            return render(request, "dashboard/draft.html", context, status=400)
        messages.success(
            request,
            f"Drafted version {made.version.version} of {made.version.contract}: review each "
            "field and its doc, then publish.",
        )
        return redirect("admin:schemas_admin_contractversion_change", made.version.pk)
    return render(request, "dashboard/draft.html", context)


def _properties(group: UnmatchedGroup) -> list[dict]:
    found = []
    for raw in group.samples.values_list("raw", flat=True):
        event = exports.parsed_event(raw)
        if isinstance(event, dict) and isinstance(event.get("properties"), dict):
            found.append(event["properties"])
    return found
