"""The dashboard's pages as analysts and product managers use them (Django's test client)."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from events.dashboard import payload
from events.dashboard.rollup import rollup
from events.dashboard.templatetags.dashboard import breakable
from events.matcher.replay import ReplayFilter
from events.models import ReplayRun, TrafficCount
from tests.contracts_fixtures import make_user
from tests.dashboard_fixtures import event, group, traffic

pytest_plugins = ["tests.contracts_fixtures"]
pytestmark = pytest.mark.django_db


def logged_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def as_analyst(client, analyst) -> Client:
    return logged_in(client, analyst)


def test_only_analysts_pms_and_superusers_see_the_dashboard(client, analyst, pm, outsider):
    anonymous = client.get("/dashboard/")
    assert anonymous.status_code == 302
    assert anonymous.url.startswith("/accounts/login/?next=/dashboard/")
    assert logged_in(client, outsider).get("/dashboard/").status_code == 403
    assert logged_in(client, analyst).get("/dashboard/").status_code == 200
    assert logged_in(client, pm).get("/dashboard/").status_code == 200
    admin = User.objects.create_superuser("root", password="x")
    assert logged_in(client, admin).get("/dashboard/").status_code == 200


def test_analysts_log_in_on_the_dashboards_own_page(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = User.objects.create_user("ana", password="pw-123456")  # not staff: no admin access
    user.groups.create(name=settings.CONTRACTS_ANALYSTS_GROUP)

    response = client.post(
        "/accounts/login/?next=/dashboard/",
        {"username": "ana", "password": "pw-123456", "next": "/dashboard/"},
    )

    assert response.status_code == 302 and response.url == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("range=2y", "range: '2y' is not one of"),
        ("since=yesterday", "since: 'yesterday' is not an ISO-8601 date-time"),
        ("since=2026-11-27T10:00:00Z&until=2026-11-27T09:00:00Z", "since: it must be before"),
        ("sort=best", "sort: 'best' is not one of"),
        ("event=" + "x" * 501, "event: a value is longer than 500 characters"),
        ("q=" + "y" * 201, "q: the search is longer than 200 characters"),
    ],
)
def test_a_filter_that_cannot_be_used_is_a_400_naming_it(as_analyst, query, named):
    for url in ("/dashboard/", "/dashboard/export.csv"):
        response = as_analyst.get(f"{url}?{query}")
        assert response.status_code == 400
        assert named in response.content.decode().replace("&#x27;", "'")


def test_overview_shows_the_score_facets_and_groups_of_the_filter(as_analyst):
    traffic(900)
    traffic(80, client_app="shop-web", platform="web", app_version="2026.11.1")
    qty = group(count=15)
    unknown = group("search_performed", "unknown_event", "", count=5)
    traffic(5, event_name="search_performed", client_app="shop-web", reason="unknown_event")

    page = as_analyst.get("/dashboard/")
    html = page.content.decode()

    assert page.context["counts"].matched == 980
    assert page.context["counts"].unmatched == 25
    assert re.search(r'data-testid="score">97\.\d%<', html)
    assert [row.key for row in page.context["rows"]] == [
        ("checkout_completed", "invalid_field", "items[].qty"),
        ("search_performed", "unknown_event", ""),
    ]
    assert f'/dashboard/groups/{qty.pk}/"' in html and f"/dashboard/groups/{unknown.pk}/" in html
    # Long names wrap between their words, not inside one.
    assert ">checkout_<wbr>completed</a>" in html and "<code>items[]<wbr>.<wbr>qty</code>" in html
    apps = {f["param"]: f for f in page.context["facets"]}["app"]["values"]
    assert [(v["value"], v["matched"], v["unmatched"]) for v in apps] == [
        ("shop-ios", 900, 20),
        ("shop-web", 80, 5),
    ]
    chart = json.loads(re.search(r'id="overview-chart"[^>]*>(.*?)</script>', html).group(1))
    assert sum(chart["matched"]) == 980 and sum(chart["unmatched"]) == 25

    filtered = as_analyst.get("/dashboard/?app=shop-web&range=6h")
    assert (filtered.context["counts"].matched, filtered.context["counts"].unmatched) == (80, 5)
    assert [row.key[0] for row in filtered.context["rows"]] == ["search_performed"]
    apps = {f["param"]: f for f in filtered.context["facets"]}["app"]["values"]
    assert {v["value"] for v in apps} == {"shop-ios", "shop-web"}  # its own filter ignored
    assert "app: shop-web" in filtered.content.decode()


def test_pages_count_what_the_roll_up_summarized_and_what_arrived_since(as_analyst, settings):
    settings.TRAFFIC_MINUTES_HOURS, settings.TRAFFIC_HOURS_DAYS = 6, 7
    qty = group(count=30)
    traffic(700, ago=timedelta(days=3))
    traffic(200, ago=timedelta(days=12))  # a day's row in the summaries
    traffic(100, ago=timedelta(hours=3), client_app="shop-web", platform="web")
    rollup()
    summarized = TrafficCount.objects.filter(summarized=True)
    assert sorted(summarized.filter(reason="").values_list("count", flat=True)) == [100, 200, 700]
    # From the matcher after the roll-up: this minute's rows, and late ones for summarized days.
    traffic(50)
    traffic(9, ago=timedelta(days=3), reason="invalid_field", field="items[].qty")
    traffic(7, ago=timedelta(days=12, minutes=30), client_app="shop-web", platform="web")

    for query, matched, unmatched in (("range=7d", 850, 39), ("range=30d", 1057, 39)):
        page = as_analyst.get(f"/dashboard/?{query}")
        html = page.content.decode()
        counts = page.context["counts"]

        assert (counts.matched, counts.unmatched) == (matched, unmatched), query
        chart = json.loads(re.search(r'id="overview-chart"[^>]*>(.*?)</script>', html).group(1))
        assert (sum(chart["matched"]), sum(chart["unmatched"])) == (matched, unmatched), query
        apps = {f["param"]: f for f in page.context["facets"]}["app"]["values"]
        web = 100 + (7 if query == "range=30d" else 0)
        assert [(v["value"], v["matched"], v["unmatched"]) for v in apps] == [
            ("shop-ios", matched - web, unmatched),
            ("shop-web", web, 0),
        ], query
        [row] = page.context["rows"]
        assert (row.group, row.events, sum(row.trend)) == (qty, 39, 39), query


def test_search_finds_groups_by_their_samples(as_analyst):
    group(samples=[event({"order_id": "A-77", "qty": "2"})])
    group("signed_up", "unknown_event", "", samples=[event({"plan": "gold"}, event="signed_up")])

    found = as_analyst.get("/dashboard/?q=gold")

    assert [row.key[0] for row in found.context["rows"]] == ["signed_up"]
    assert "No unmatched events here whose samples mention" in (
        as_analyst.get("/dashboard/?q=nowhere").content.decode()
    )


def test_groups_that_replays_resolved_leave_the_list_unless_asked(as_analyst):
    group(count=10, resolved=10)
    group("signed_up", "unknown_event", "", count=4, resolved=1)

    page = as_analyst.get("/dashboard/")
    listed = page.context["rows"]
    everything = as_analyst.get("/dashboard/?resolved=1").context["rows"]

    assert [(row.key[0], row.open) for row in listed] == [("signed_up", 3)]
    assert {row.key[0] for row in everything} == {"signed_up", "checkout_completed"}
    assert "their groups: 11 matched by replays since" in page.content.decode()


def test_group_detail_explains_and_marks_the_failing_field(as_analyst, contract):
    from schemas_admin.models import ContractVersion
    from tests.contracts_fixtures import ORDER_ID, record

    published = ContractVersion.objects.create(
        contract=contract, version=2, schema=record(ORDER_ID), status="published"
    )
    made = group(samples=[event({"items": [{"sku": "x", "qty": "2"}]})], count=6)
    traffic(4, reason="invalid_field", field="items[].qty", app_version="4.3.0")

    page = as_analyst.get(f"/dashboard/groups/{made.pk}/")
    html = page.content.decode()

    assert page.status_code == 200
    assert (
        "Field “items[0].qty” does not fit version 2 of the contract: it expects int, "
        "the events carry string."
    ) in html
    assert '<mark class="failing"><span class="key">&quot;qty&quot;</span>: &quot;2&quot;' in html
    assert [tuple(row) for row in page.context["senders"]] == [
        ("shop-ios", "ios", "4.2.0", 6),
        ("shop-ios", "ios", "4.3.0", 4),
    ]
    assert f'href="/admin/schemas_admin/contractversion/{published.pk}/change/">v2</a>' in html
    assert page.context["period_events"] == 10


def test_payload_marks_missing_fields_and_bounds_what_it_shows():
    missing = payload.render(json.dumps(event({"order_id": "A-1"})), "total", missing=True)
    long_value = payload.render(json.dumps(event({"note": "z" * 50_000})))
    deep: list = []
    for _ in range(60):
        deep = [deep]
    nested = payload.render(json.dumps(event({"deep": deep})))
    broken = payload.render('{"event": "x", "properties": {"a": <b>')

    assert '<mark class="failing missing">&quot;total&quot;: missing</mark>' in missing
    assert (
        "z" * payload.MAX_STRING in long_value and "z" * (payload.MAX_STRING + 1) not in long_value
    )
    assert "48,000 more" in long_value
    assert '<span class="deep">' in nested and nested.count("\n") < 60
    assert broken.startswith('<span class="raw">{&quot;event&quot;: &quot;x&quot;')
    assert broken.endswith("{&quot;a&quot;: &lt;b&gt;</span>")


HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "' onmouseover='alert(3)",
    "</pre><iframe src=javascript:alert(4)>",
]


def test_hostile_payloads_are_rendered_escaped_everywhere(as_analyst):
    nesting = '{"d": ' * 3000 + json.dumps(HOSTILE[0]) + "}" * 3000  # too deep for json
    raw_deep = json.dumps(event({"deep": "here"})).replace('"here"', nesting)
    samples = [
        event({HOSTILE[0]: HOSTILE[1], "qty": HOSTILE[2]}, event=HOSTILE[0]),
        event({"note": HOSTILE[3] * 5000}, event=HOSTILE[0], app_version=HOSTILE[1]),
        raw_deep,
        HOSTILE[3] + " not json " + HOSTILE[0],
    ]
    made = group(HOSTILE[0], "invalid_field", HOSTILE[1], samples=samples)
    traffic(3, client_app=HOSTILE[2], app_version=HOSTILE[3], platform=HOSTILE[1])

    pages = [
        as_analyst.get("/dashboard/"),
        as_analyst.get(f"/dashboard/?q={HOSTILE[0]}&event={HOSTILE[1]}"),
        as_analyst.get(f"/dashboard/groups/{made.pk}/"),
    ]

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        for hostile in HOSTILE:
            assert hostile not in html
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "<iframe" not in html
    detail = pages[2].content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert len(detail) < 200_000  # 90,000 characters of note are cut


def test_exports_stream_the_filtered_samples_as_json_lines_and_safe_csv(as_analyst):
    made = group(
        samples=[
            event({"qty": '=HYPERLINK("http://evil")'}),
            event({"qty": "2"}, client_app="shop-web", platform="web"),
        ]
    )
    traffic(1, reason="invalid_field", field="items[].qty", client_app="shop-web", platform="web")
    group("signed_up", "unknown_event", "", samples=[event({"plan": "gold"}, event="signed_up")])

    lines = b"".join(as_analyst.get("/dashboard/export.jsonl?app=shop-web").streaming_content)
    records = [json.loads(line) for line in lines.decode().splitlines()]
    table = b"".join(as_analyst.get(f"/dashboard/export.csv?group={made.pk}").streaming_content)
    rows = list(csv.DictReader(io.StringIO(table.decode())))

    assert [(r["group"]["event_name"], r["event"]["client_app"]) for r in records] == [
        ("checkout_completed", "shop-web")
    ]
    assert records[0]["reason"]["field"] == "items[0].qty"
    assert len(rows) == 2 and {row["client_app"] for row in rows} == {"shop-ios", "shop-web"}
    raws = sorted(row["raw"] for row in rows)
    assert all(not raw.startswith("=") for raw in raws)
    assert rows[0]["expected"] == "int"
    response = as_analyst.get("/dashboard/export.csv")
    assert response["Content-Disposition"].startswith('attachment; filename="unmatched-samples-')
    assert as_analyst.get("/dashboard/export.xml").status_code == 404


def test_exports_keep_unparsable_and_deeply_nested_samples_as_text(as_analyst):
    for depth in (200, 990, 3000):
        nesting = "[" * depth + "1" + "]" * depth
        group(
            f"deep_{depth}",
            "unknown_event",
            "",
            samples=[json.dumps(event({"x": "here"})).replace('"here"', nesting)],
        )

    lines = b"".join(as_analyst.get("/dashboard/export.jsonl").streaming_content).decode()
    records = {
        json.loads(line)["group"]["event_name"]: json.loads(line) for line in lines.splitlines()
    }

    assert set(records) == {"deep_200", "deep_990", "deep_3000"}
    assert "event" in records["deep_200"]
    assert records["deep_3000"]["raw"].startswith('{"event"')


def test_csv_cells_that_would_run_as_formulas_are_quoted(as_analyst):
    group("=cmd", "unknown_event", "", samples=[event({}, event="=cmd")])

    table = b"".join(as_analyst.get("/dashboard/export.csv").streaming_content).decode()

    assert "\n'=cmd," in table


def test_replaying_ticked_groups_or_everything_in_the_filter(
    as_analyst, django_capture_on_commit_callbacks
):
    qty = group(count=3)
    unknown = group("search_performed", "unknown_event", "", count=2)
    traffic(2, event_name="search_performed", reason="unknown_event", client_app="shop-web")

    with django_capture_on_commit_callbacks() as queued:
        ticked = as_analyst.post("/dashboard/replays/new/", {"group": [qty.pk, unknown.pk]})
        filtered = as_analyst.post(
            "/dashboard/replays/new/", {"everything": "1", "app": "shop-web", "range": "1h"}
        )

    first, second = ReplayRun.objects.order_by("pk")
    assert ticked.url == f"/dashboard/replays/{first.pk}/"
    assert filtered.url == f"/dashboard/replays/{second.pk}/"
    assert sorted(map(tuple, first.filters["groups"])) == [
        ("checkout_completed", "invalid_field", "items[].qty"),
        ("search_performed", "unknown_event", ""),
    ]
    replay_filter = ReplayFilter.from_json(second.filters)
    assert replay_filter.groups == (("search_performed", "unknown_event", ""),)
    assert replay_filter.client_apps == ("shop-web",)
    assert replay_filter.until - replay_filter.since <= timedelta(hours=1, minutes=1)
    assert len(queued) == 2  # one Celery task per run, once the run is committed

    nothing = as_analyst.post("/dashboard/replays/new/", {"selected": "1"}, follow=True)
    assert "Nothing to replay" in nothing.content.decode()
    assert ReplayRun.objects.count() == 2


def test_replay_page_shows_progress_then_the_summary(as_analyst):
    run = ReplayRun.objects.create(
        filters={"groups": [["checkout_completed", "invalid_field", "total"]]},
        status="running",
        total=100,
        scanned=40,
    )

    running = as_analyst.get(f"/dashboard/replays/{run.pk}/", HTTP_HX_REQUEST="true")
    run.status, run.scanned, run.matched, run.still_unmatched = "succeeded", 100, 7, 2
    run.failures = [
        {
            "event_name": "checkout_completed",
            "reason": "invalid_field",
            "field": "total",
            "count": 2,
            "message": "Version 3: total: expected double, got string",
        }
    ]
    run.save()
    done = as_analyst.get(f"/dashboard/replays/{run.pk}/").content.decode()

    assert 'hx-trigger="every 1s"' in running.content.decode()
    assert "<html" not in running.content.decode()  # the partial only
    assert "hx-trigger" not in done
    assert re.search(r'data-testid="replay-matched">7<', done)
    assert "Version 3: total: expected double, got string" in done


def test_replay_filter_selects_by_group_and_by_what_the_event_says():
    replay_filter = ReplayFilter(
        groups=(("checkout_completed", "invalid_field", "total"),),
        client_apps=("shop-web",),
        app_versions=("4.2.0", "4.3.0"),
    )
    reason = {"event_name": "checkout_completed", "reason": "invalid_field", "group_field": "total"}
    when = timezone.now()
    web = {"client_app": "shop-web", "app_version": "4.3.0"}

    assert replay_filter.selects(reason, when, web)
    assert not replay_filter.selects(reason, when, {**web, "client_app": "shop-ios"})
    assert not replay_filter.selects(reason, when, {**web, "app_version": "5.0"})
    assert not replay_filter.selects({**reason, "group_field": "qty"}, when, web)
    assert not replay_filter.selects(reason, when, None)  # a body that was not JSON
    assert ReplayFilter.from_json(replay_filter.as_json()) == replay_filter


def test_non_members_get_a_page_that_says_who_may_see_it(client, outsider):
    page = logged_in(client, outsider).get("/dashboard/groups/1/")
    assert page.status_code == 403
    assert "analysts" in page.content.decode()


def test_staff_in_no_group_cannot_replay_or_export(client, db):
    staff = make_user("someone")
    group(count=1)
    logged_in(client, staff)
    assert client.post("/dashboard/replays/new/", {"everything": "1"}).status_code == 403
    assert client.get("/dashboard/export.csv").status_code == 403
    assert not ReplayRun.objects.exists()


def test_breakable_names_are_escaped_before_they_get_break_opportunities():
    assert breakable('a_b<script>"x.y"</script>') == (
        "a_<wbr>b&lt;script&gt;&quot;x.<wbr>y&quot;&lt;/script&gt;"
    )
