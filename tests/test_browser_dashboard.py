"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) on live_server.

An analyst filters and opens groups; a product manager drafts a contract from the samples of an
unknown event and publishes it in the admin (a real Celery worker pushes it to the built-in
registry); the analyst replays the group (the same worker runs the replay against real Kafka)
and watches it leave the list. Screenshots of every step are kept in var/test-artifacts/browser
(or BROWSER_TEST_SCREENSHOTS).
"""

import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from events.collector import collect
from events.models import ClientApp, UnmatchedGroup
from schemas_admin.models import EventContract
from tests.contracts_fixtures import PASSWORD
from tests.dashboard_fixtures import event, group, traffic
from tests.matcher_helpers import CHECKOUT_V1, make_contract, produce, run_in_process
from tests.test_browser_admin import PUBLISH_TIMEOUT_S, TIMEOUT_MS, browser, reload_until

pytest_plugins = ["tests.contracts_fixtures", "tests.matcher_fixtures"]
__all__ = ["browser"]  # the module-scoped Chromium of the admin's browser tests

ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts" / "browser"
REPLAY_TIMEOUT_MS = 120_000


def shot(page: Page, name: str) -> None:
    folder = Path(os.environ.get("BROWSER_TEST_SCREENSHOTS") or ARTIFACTS)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"dashboard-{name}.png", full_page=True)


@pytest.fixture
def open_page(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[], Page]]:
    """New browser sessions (one per person) that fail the test on any script error."""
    contexts, errors = [], []

    def new() -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1360, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
        return page

    yield new
    for context in contexts:
        context.close()
    assert errors == []


def log_in(page: Page, user: User) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Data quality")).to_be_visible()


def group_row(page: Page, event_name: str):
    return page.locator("table.grouplist tbody tr").filter(
        has=page.get_by_role("link", name=event_name)
    )


def raw_events(app: ClientApp) -> list[tuple[bytes, bytes]]:
    """What the collector would have stored: good and bad checkouts, and searches without a
    contract, as the raw topic's records."""
    now = timezone.now()
    good = {"order_id": "A-1", "total": 42.5, "items": [{"sku": "x", "qty": 2}]}
    bad = {"order_id": "A-2", "total": 9.5, "items": [{"sku": "y", "qty": "2"}]}
    bodies = [
        *(dict(event(good), app_version="4.2.0") for _ in range(20)),
        *(dict(event(bad), app_version="4.3.0") for _ in range(6)),
        *(
            dict(event({"query": f"red shoes {n}", "results": n}), event="search_performed")
            for n in range(5)
        ),
    ]
    records = []
    for body in bodies:
        body = {k: v for k, v in body.items() if k not in ("client_app", "event_id")}
        body["event_id"] = str(uuid.uuid4())
        records += [
            (r.key, r.value) for r in collect(json.dumps(body).encode(), app.slug, now).records
        ]
    return records


def test_analyst_filters_pm_drafts_and_publishes_analyst_replays_and_the_group_leaves(
    open_page, matcher_setup, registry_url, worker, analyst, pm, team
):
    make_contract("checkout_completed", CHECKOUT_V1)
    produce(
        matcher_setup.raw_topic, raw_events(ClientApp.objects.create(name="Shop", slug="shop-ios"))
    )
    run_in_process(matcher_setup)  # it also counts the traffic the dashboard reads
    search = UnmatchedGroup.objects.get(event_name="search_performed")

    analyst_page = open_page()
    log_in(analyst_page, analyst)
    expect(analyst_page.get_by_test_id("score")).to_have_text(re.compile(r"^64\.5%$"))
    expect(group_row(analyst_page, "search_performed")).to_contain_text("unknown_event")
    expect(group_row(analyst_page, "checkout_completed")).to_contain_text("items[].qty")
    expect(analyst_page.locator("[data-chart] canvas").first).to_be_visible()
    expect(analyst_page.locator(".spark canvas")).to_have_count(2)
    shot(analyst_page, "01-overview")

    analyst_page.locator('[data-facet="event"]').get_by_role(
        "link", name=re.compile("search_performed")
    ).click()
    expect(analyst_page).to_have_url(re.compile(r"\?event=search_performed$"))
    expect(analyst_page.locator("table.grouplist tbody tr")).to_have_count(1)
    expect(analyst_page.get_by_test_id("unmatched")).to_have_text("5")
    shot(analyst_page, "02-filtered")

    analyst_page.get_by_role("link", name="search_performed", exact=True).click()
    expect(analyst_page.get_by_test_id("why")).to_contain_text(
        "No contract named “search_performed” is published"
    )
    expect(analyst_page.locator("pre.payload").first).to_contain_text('"query": "red shoes')
    expect(
        analyst_page.get_by_role("link", name="Draft a contract from these samples")
    ).to_have_count(0)
    shot(analyst_page, "03-group-unknown-event")

    pm_page = open_page()
    log_in(pm_page, pm)
    pm_page.goto(f"/dashboard/groups/{search.pk}/")
    pm_page.get_by_role("link", name="Draft a contract from these samples").click()
    expect(pm_page.get_by_test_id("inferred-schema")).to_contain_text('"name": "SearchPerformed"')
    topic = f"test.search_performed.{uuid.uuid4().hex[:8]}"
    pm_page.get_by_label("Output topic").fill(topic)
    pm_page.get_by_label("Team").select_option(label=team.name)
    pm_page.get_by_label("Description").fill("A shopper searched the catalogue.")
    shot(pm_page, "04-draft-preview")
    pm_page.get_by_role("button", name="Create the draft").click()
    expect(pm_page.get_by_role("heading", name="Change contract version")).to_be_visible()
    expect(pm_page.locator("ul.messagelist li").first).to_contain_text(
        "Drafted version 1 of search_performed"
    )
    shot(pm_page, "05-draft-in-admin")
    pm_page.get_by_role("button", name="Publish").click()
    reload_until(
        pm_page,
        pm_page.locator(".form-row.field-publish_state"),
        re.compile("in the registry"),
        PUBLISH_TIMEOUT_S,
    )
    shot(pm_page, "06-published")

    analyst_page.reload()
    expect(analyst_page.get_by_test_id("published-version")).to_have_text("v1")
    analyst_page.get_by_role("button", name="Replay this group").click()
    expect(analyst_page.get_by_test_id("replay-status")).to_have_text(
        "succeeded", timeout=REPLAY_TIMEOUT_MS
    )
    expect(analyst_page.get_by_test_id("replay-matched")).to_have_text("5")
    expect(analyst_page.get_by_test_id("replay-failing")).to_have_text("0")
    shot(analyst_page, "07-replayed")

    analyst_page.get_by_role("link", name="Back to the groups").click()
    expect(group_row(analyst_page, "checkout_completed")).to_have_count(1)
    expect(group_row(analyst_page, "search_performed")).to_have_count(0)
    expect(analyst_page.get_by_test_id("replayed")).to_contain_text("5 matched by replays since")
    shot(analyst_page, "08-group-left-the-list")
    matched = EventContract.objects.get(event_name="search_performed")
    assert matched.versions.get().registry_schema_id is not None


HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "' onmouseover='alert(3)"]


def test_hostile_payloads_show_as_text_and_run_nothing(open_page, analyst):
    deep = '{"d": ' * 2000 + json.dumps(HOSTILE[0]) + "}" * 2000
    made = group(
        HOSTILE[0],
        "unknown_event",
        "",
        samples=[
            event({HOSTILE[1]: HOSTILE[2], "long": "w" * 40_000}, event=HOSTILE[0]),
            json.dumps(event({"deep": "here"})).replace('"here"', deep),
            HOSTILE[1] + " not JSON",
        ],
    )
    traffic(3, event_name=HOSTILE[0], reason="unknown_event", client_app=HOSTILE[2][:50])
    page = open_page()
    log_in(page, analyst)

    expect(group_row(page, HOSTILE[0])).to_contain_text("unknown_event")
    expect(page.locator('[data-facet="app"]')).to_contain_text(HOSTILE[2])
    shot(page, "09-hostile-overview")
    page.goto(f"/dashboard/groups/{made.pk}/")
    expect(page.locator("h1 .event")).to_have_text(HOSTILE[0])
    expect(page.locator("pre.payload").first).to_contain_text(HOSTILE[1])
    expect(page.locator("img")).to_have_count(0)
    expect(page.locator("script:not([src]):not([type='application/json'])")).to_have_count(0)
    not_json = page.locator("details.sample").filter(has_text="not JSON")
    not_json.locator("summary").click()
    expect(not_json.locator("pre.payload")).to_have_text(HOSTILE[1] + " not JSON")
    deep = page.locator("details.sample").filter(has_text='"deep"')
    deep.locator("summary").click()
    expect(deep.locator("pre.payload")).to_contain_text('"deep": {')
    shot(page, "10-hostile-group")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1360 + 20  # no overflow


def test_time_ranges_keep_the_filters_and_go_into_the_url(open_page, analyst):
    """Time ranges: preset pills keep the other filters, a custom range goes into the URL."""
    traffic(10, ago=timedelta(hours=30))
    traffic(4, ago=timedelta(minutes=10), client_app="shop-web")
    page = open_page()
    log_in(page, analyst)
    page.goto("/dashboard/?app=shop-web")
    expect(page.get_by_test_id("matched")).to_have_text("4")
    page.get_by_role("link", name="7d", exact=True).click()
    expect(page).to_have_url(re.compile(r"app=shop-web"))
    expect(page).to_have_url(re.compile(r"range=7d"))
    page.get_by_role("link", name=re.compile("Clear filters")).click()
    expect(page.get_by_test_id("matched")).to_have_text("14")
    page.get_by_label("Since (UTC)").fill("2026-01-01T00:00")
    page.get_by_label("Until (UTC)").fill("2026-01-02T00:00")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"since=2026-01-01T00%3A00"))
    expect(page.get_by_test_id("matched")).to_have_text("0")
    shot(page, "11-custom-range")


FITS_THE_WORD = """(element, word) => {
    const probe = document.createElement("span");
    probe.style.font = getComputedStyle(element).font;
    probe.style.whiteSpace = "nowrap";
    probe.textContent = word;
    document.body.append(probe);
    const width = probe.getBoundingClientRect().width;
    probe.remove();
    return element.getBoundingClientRect().width + 0.5 >= width;
}"""


@pytest.mark.parametrize("width", [1100, 1280, 700])
def test_narrow_windows_wrap_names_between_words_and_never_widen_the_page(
    open_page, analyst, width
):
    group("search_performed", "unknown_event", "", count=5)
    group(count=9, samples=[event({"items": [{"qty": "two"}]})])
    traffic(5, event_name="search_performed", reason="unknown_event")
    traffic(9, reason="invalid_field", field="items[].qty")
    page = open_page()
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, analyst)

    for name, longest_word in (
        ("search_performed", "performed"),
        ("checkout_completed", "completed"),
    ):
        link = group_row(page, name).get_by_role("link", name=name)
        expect(link).to_be_visible()
        assert link.evaluate(FITS_THE_WORD, longest_word) is True, name
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"12-narrow-{width}")
