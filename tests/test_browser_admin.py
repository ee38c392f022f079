"""The admin in a real browser (Chromium from Debian's package, driven by Playwright).

Each test walks through one flow of a product manager, an analyst or an admin against
live_server, and checks what the person sees on the page. Set BROWSER_TEST_SCREENSHOTS to a
folder to keep a screenshot of every key page.
"""

import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from events.models import ClientAPIKey, ClientApp
from schemas_admin.models import ContractVersion, EventContract
from tests.conftest import make_event
from tests.contracts_fixtures import ORDER_ID, PASSWORD, TOTAL, record

pytest_plugins = ["tests.contracts_fixtures"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: the machine is small and shared with other test runs.
TIMEOUT_MS = 30_000
PUBLISH_TIMEOUT_S = 90.0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread, which makes Django refuse
    # database calls from the test itself; those calls stay synchronous, so allow them.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        expect.set_options(timeout=TIMEOUT_MS)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, registry_url: str, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser session on live_server, which also serves the built-in registry."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("BROWSER_TEST_SCREENSHOTS")
    if folder:
        page.screenshot(path=Path(folder) / f"{name}.png", full_page=True)


def log_in(page: Page, user: User) -> None:
    page.goto("/admin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    screenshot(page, f"00-index-{user.username}")


def open_model(page: Page, app_model: str) -> None:
    """Follow a model's link on the admin index, such as ``schemas_admin-eventcontract``."""
    page.locator(f"#{app_model}").get_by_role("link").first.click()


def messages(page: Page) -> Locator:
    return page.locator("ul.messagelist li")


def field(page: Page, name: str) -> Locator:
    """The row of one form field (editable or read-only) on an admin change page."""
    return page.locator(f".form-row.field-{name}")


def reload_until(page: Page, locator: Locator, pattern: re.Pattern, timeout: float) -> None:
    """Reload the page until ``locator`` shows ``pattern``, as a person waiting would."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            expect(locator).to_have_text(pattern, timeout=2_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.reload()


def write_draft(page: Page, schema: dict, changelog: str) -> None:
    page.get_by_label("Schema").fill(json.dumps(schema, indent=2))
    page.get_by_label("Changelog").fill(changelog)
    page.get_by_role("button", name="Save and continue editing").click()


def test_pm_writes_checks_and_publishes_a_contract(page: Page, pm: User, worker: None) -> None:
    topic = f"test.checkout_completed.{uuid.uuid4().hex[:8]}"
    log_in(page, pm)
    open_model(page, "schemas_admin-eventcontract")
    page.get_by_role("link", name="Add event contract").click()
    page.get_by_label("Event name").fill("checkout_completed")
    page.get_by_label("Namespace").fill("com.acme.events")
    page.get_by_label("Team").select_option(label="Checkout")
    page.get_by_label("Description").fill("A customer paid for an order.")
    page.get_by_label("Output topic").fill(topic)
    screenshot(page, "01-contract-add")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(messages(page).first).to_contain_text("was added successfully")
    screenshot(page, "02-contract-saved")

    page.get_by_role("link", name="Write a new version").click()
    expect(page.get_by_label("Schema")).to_have_value(re.compile('"name": "CheckoutCompleted"'))
    misspelt = {**ORDER_ID, "type": "strnig"}
    write_draft(page, record(misspelt), "First cut.")
    expect(field(page, "schema").locator(".errorlist")).to_contain_text(
        'This is not a valid Avro schema: there is no type "strnig"'
    )
    screenshot(page, "03-draft-invalid")
    assert not ContractVersion.objects.exists()

    write_draft(page, record(ORDER_ID, TOTAL), "First cut.")
    expect(messages(page).first).to_contain_text("was added successfully")
    expect(field(page, "compatibility_check")).to_contain_text("This is the first version")
    expect(field(page, "example_payload")).to_contain_text('"order_id": "text"')
    screenshot(page, "04-draft-saved")

    page.get_by_role("button", name="Publish").click()
    expect(messages(page).first).to_contain_text("Version 1 of checkout_completed was published")
    screenshot(page, "05-published-pending")
    reload_until(
        page, field(page, "publish_state"), re.compile("in the registry"), PUBLISH_TIMEOUT_S
    )
    version = EventContract.objects.get(event_name="checkout_completed").versions.get()
    assert version.registry_schema_id is not None
    expect(field(page, "registry_schema_id").locator(".readonly")).to_have_text(
        str(version.registry_schema_id)
    )
    expect(field(page, "registry_subject").locator(".readonly")).to_have_text(f"{topic}-value")
    expect(page.get_by_role("button", name=re.compile("^Save"))).to_have_count(0)
    screenshot(page, "06-in-registry")


def test_incompatible_version_is_explained_refused_and_compared(
    page: Page, pm: User, contract: EventContract
) -> None:
    ContractVersion.objects.create(
        contract=contract, version=1, schema=record(ORDER_ID), status="published"
    )
    log_in(page, pm)
    page.goto(f"/admin/schemas_admin/eventcontract/{contract.pk}/change/")
    page.get_by_role("link", name="Write a new version").click()

    no_default = {k: v for k, v in TOTAL.items() if k != "default"}
    write_draft(page, record(ORDER_ID, no_default), "Add the total.")
    expect(field(page, "schema").locator(".errorlist")).to_contain_text(
        'Field "total" is new, so it needs a "default"'
    )
    screenshot(page, "07-new-field-needs-default")

    retyped = {**ORDER_ID, "type": "long"}
    write_draft(page, record(retyped, TOTAL), "Numeric order ids.")
    expect(messages(page).first).to_contain_text("cannot be published yet")
    expect(field(page, "compatibility_check")).to_contain_text("Not compatible (BACKWARD)")
    expect(field(page, "compatibility_check")).to_contain_text(
        "reader type: long not compatible with writer type: string"
    )
    screenshot(page, "08-incompatible-draft")

    page.get_by_role("button", name="Publish").click()
    expect(page.locator("ul.messagelist li.error")).to_contain_text(
        "Version 2 of checkout_completed was not published"
    )
    expect(field(page, "status").locator(".readonly")).to_have_text("Draft")
    screenshot(page, "09-publish-refused")

    page.get_by_role("link", name="Compare versions").click()
    table = page.locator("table.diff")
    expect(table.locator("th.diff_header", has_text="v1 (published)")).to_be_visible()
    expect(table.locator("th.diff_header", has_text="v2 (draft)")).to_be_visible()
    changed = table.locator("tr", has=page.locator(".diff_chg")).first
    expect(changed).to_contain_text("string")
    expect(changed).to_contain_text("long")
    screenshot(page, "10-compare")


def test_analyst_views_contracts_without_edit_controls(
    page: Page, analyst: User, contract: EventContract
) -> None:
    version = ContractVersion.objects.create(contract=contract, version=1, schema=record(ORDER_ID))
    log_in(page, analyst)
    open_model(page, "schemas_admin-eventcontract")
    expect(page.get_by_role("link", name="checkout_completed")).to_be_visible()
    expect(page.get_by_role("link", name="Add event contract")).to_have_count(0)
    screenshot(page, "11-analyst-contracts")

    page.get_by_role("link", name="checkout_completed").click()
    expect(page.get_by_role("heading", name="View event contract")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Save"))).to_have_count(0)
    expect(page.get_by_role("link", name="Write a new version")).to_have_count(0)
    screenshot(page, "12-analyst-contract")

    page.get_by_role("link", name="v1").click()
    expect(page.get_by_role("heading", name="View contract version")).to_be_visible()
    expect(field(page, "schema")).to_contain_text('"name": "order_id"')
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)
    expect(page.get_by_role("link", name="Compare versions")).to_be_visible()
    expect(page.get_by_label("Schema")).to_have_count(0)
    screenshot(page, "13-analyst-version")
    version.refresh_from_db()
    assert version.status == "draft"


def test_admin_creates_a_key_that_is_shown_once_and_works(
    page: Page, live_server: LiveServer, raw_topic: str, client_app: ClientApp
) -> None:
    admin = User.objects.create_superuser("admin", password=PASSWORD)
    log_in(page, admin)
    open_model(page, "events-clientapikey")
    page.get_by_role("link", name="Add client API key").click()
    page.get_by_label("Name").fill("iOS release builds")
    page.get_by_label("App").select_option(label=client_app.name)
    page.get_by_label("Rate limit").fill("100/s")
    screenshot(page, "14-key-add")
    page.get_by_role("button", name="Save", exact=True).click()

    shown = messages(page).filter(has_text="The API key for iOS release builds (Shop iOS) is")
    expect(shown).to_have_count(1)
    expect(shown).to_contain_text("cannot be shown again")
    screenshot(page, "15-key-created")
    key = shown.locator("code").inner_text()
    assert key.startswith(ClientAPIKey.objects.get().prefix)

    page.locator("#result_list").get_by_role("link", name="iOS release builds").click()
    expect(page.get_by_role("heading", name="Change client API key")).to_be_visible()
    assert key not in page.content()
    page.reload()
    assert key not in page.content()

    response = requests.post(
        f"{live_server.url}/api/v1/events",
        json=make_event(),
        headers={"Authorization": f"Api-Key {key}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1
