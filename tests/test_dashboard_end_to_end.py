"""Events posted to the collector, matched by the real matcher, shown by the dashboard; the
roll-up changes how the counts are stored, never what the dashboard shows."""

from django.test import Client

from events.dashboard.rollup import rollup
from events.models import ClientAPIKey, ClientApp, TrafficCount, UnmatchedGroup
from tests.conftest import make_event, post_json
from tests.matcher_helpers import CHECKOUT_V1, make_contract, run_in_process

pytest_plugins = ["tests.contracts_fixtures", "tests.matcher_fixtures"]

GOOD = {"order_id": "A-1", "total": 42.5, "items": [{"sku": "x", "qty": 2}]}
BAD = {"order_id": "A-2", "total": 9.5, "items": [{"sku": "y", "qty": "two"}]}


def api_for(slug: str):
    from rest_framework.test import APIClient

    app = ClientApp.objects.create(name=slug, slug=slug)
    _, key = ClientAPIKey.objects.create_key(name=slug, app=app, rate_limit="10000/s")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_posted_events_show_up_on_the_dashboard(matcher_setup, analyst, client: Client):
    make_contract("checkout_completed", CHECKOUT_V1)
    ios, web = api_for("shop-ios"), api_for("shop-web")
    ios_events = [make_event(properties=GOOD) for _ in range(12)]
    ios_events += [make_event(properties=BAD, app_version="4.3.0") for _ in range(3)]
    web_events = [make_event(platform="web", app_version="2026.11.1", properties=GOOD)] * 5
    web_events += [make_event(event="search_performed", platform="web", properties={"q": "x"})]
    assert post_json(ios, ios_events).json()["accepted"] == 15
    assert post_json(web, web_events).json()["accepted"] == 6

    run_in_process(matcher_setup)
    client.force_login(analyst)
    page = client.get("/dashboard/?range=1h")

    counts = page.context["counts"]
    assert (counts.matched, counts.unmatched) == (17, 4)
    facets = {f["param"]: f["values"] for f in page.context["facets"]}
    assert {v["value"]: (v["matched"], v["unmatched"]) for v in facets["app"]} == {
        "shop-ios": (12, 3),
        "shop-web": (5, 1),
    }
    assert {v["value"]: v["unmatched"] for v in facets["app_version"]} == {
        "4.3.0": 3,
        "4.2.0": 1,  # the search, from the web app's default version
        "2026.11.1": 0,
    }
    assert [(row.key, row.events) for row in page.context["rows"]] == [
        (("checkout_completed", "invalid_field", "items[].qty"), 3),
        (("search_performed", "unknown_event", ""), 1),
    ]
    qty = UnmatchedGroup.objects.get(field="items[].qty")
    detail = client.get(f"/dashboard/groups/{qty.pk}/?range=1h")
    assert [tuple(row) for row in detail.context["senders"]] == [("shop-ios", "ios", "4.3.0", 3)]
    assert detail.context["versions_tried"] == [(1, 3)]
    assert '<mark class="failing"><span class="key">&quot;qty&quot;</span>: &quot;two&quot;' in (
        detail.content.decode()
    )

    rows_before = TrafficCount.objects.count()
    rollup()
    again = client.get("/dashboard/?range=1h").context["counts"]
    assert (again.matched, again.unmatched) == (17, 4)
    assert TrafficCount.objects.count() <= rows_before
