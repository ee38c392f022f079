"""Getting the tracking code: ``GET /api/v1/codegen/...`` (HTTP Basic or session, ETag), the
admin's downloads, and ``manage.py codegen`` (write, --check, stale files); how the code
follows a contract's evolution."""

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from schemas_admin import publishing
from schemas_admin.models import ContractVersion, EventContract
from tests.codegen_contracts import APP_OPENED_V1, APP_OPENED_V2, CHECKOUT_V1, publish_all
from tests.contracts_fixtures import PASSWORD, make_user
from tests.matcher_helpers import add_version, make_contract

pytest_plugins = ["tests.contracts_fixtures"]


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def unzip(response) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


@pytest.fixture
def ci(db):
    """A staff account for client builds."""
    return make_user("ci")


@pytest.fixture
def published(db) -> list[EventContract]:
    return publish_all()


def test_staff_user_downloads_the_bundle_with_basic_auth(client, ci, published):
    response = client.get("/api/v1/codegen/typescript", **basic("ci"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert 'filename="tracking-typescript.zip"' in response["Content-Disposition"]
    files = unzip(response)
    assert {"runtime.ts", "tracker.ts", "index.ts", "CheckoutCompleted.ts", "codegen.json"} <= set(
        files
    )
    manifest = json.loads(files["codegen.json"])
    assert response["ETag"] == f'"{manifest["etag"]}"'
    assert manifest["contracts"]["app_opened"] == {
        "versions": [1, 2],
        "deprecated": [1],
        "current": 2,
    }


def test_unchanged_code_answers_304_until_a_version_is_published(client, ci, published):
    etag = client.get("/api/v1/codegen/kotlin", **basic("ci"))["ETag"]

    again = client.get("/api/v1/codegen/kotlin", HTTP_IF_NONE_MATCH=etag, **basic("ci"))
    assert again.status_code == 304
    assert again["ETag"] == etag
    assert again.content == b""

    checkout = EventContract.objects.get(event_name="checkout_completed")
    add_version(checkout, 3, CHECKOUT_V1)
    changed = client.get("/api/v1/codegen/kotlin", HTTP_IF_NONE_MATCH=etag, **basic("ci"))
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert "class CheckoutCompletedV3(" in unzip(changed)["CheckoutCompleted.kt"]


def test_one_contract_and_a_kotlin_package(client, ci, published):
    response = client.get(
        "/api/v1/codegen/kotlin/app_opened?package=com.shop.tracking", **basic("ci")
    )

    assert response.status_code == 200
    files = unzip(response)
    assert sorted(files) == ["AppOpened.kt", "Runtime.kt", "Tracker.kt", "codegen.json"]
    assert all(
        text.splitlines()[2] == "package com.shop.tracking"
        for name, text in files.items()
        if name.endswith(".kt")
    )
    assert "trackCheckoutCompleted" not in files["Tracker.kt"]


def test_session_of_a_staff_user_works_too(client, ci, published):
    client.force_login(ci)

    assert client.get("/api/v1/codegen/jsonschema").status_code == 200


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/codegen/cobol", 404, "not_found"),
        ("/api/v1/codegen/swift/no_such_event", 404, "not_found"),
        ("/api/v1/codegen/kotlin?package=Not-A-Package", 400, "invalid_option"),
    ],
)
def test_bad_requests_get_a_clear_error(client, ci, published, path, status, code):
    response = client.get(path, **basic("ci"))

    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["detail"]


def test_anonymous_and_non_staff_callers_are_refused(client, ci, published):
    anonymous = client.get("/api/v1/codegen/swift")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Basic")
    assert client.get("/api/v1/codegen/swift", **basic("ci", "wrong")).status_code == 401
    User.objects.create_user("customer", password=PASSWORD)  # not staff
    assert client.get("/api/v1/codegen/swift", **basic("customer")).status_code == 403


def test_admin_offers_the_downloads(client, pm, published):
    client.force_login(pm)
    contract = published[1]  # app_opened

    page = client.get(f"/admin/schemas_admin/eventcontract/{contract.pk}/change/").content.decode()
    one = f"/admin/schemas_admin/eventcontract/{contract.pk}/codegen/swift/"
    assert one in page
    download = client.get(one)
    assert download.status_code == 200
    assert sorted(unzip(download)) == [
        "AppOpened.swift",
        "Runtime.swift",
        "Tracker.swift",
        "codegen.json",
    ]

    listing = client.get("/admin/schemas_admin/eventcontract/").content.decode()
    assert "/admin/schemas_admin/eventcontract/codegen/typescript/" in listing
    bundle = client.get("/admin/schemas_admin/eventcontract/codegen/typescript/")
    assert {"AppOpened.ts", "CatalogViewed.ts", "CheckoutCompleted.ts"} <= set(unzip(bundle))


def test_admin_says_what_to_do_before_anything_is_published(client, pm, contract):
    client.force_login(pm)

    page = client.get(f"/admin/schemas_admin/eventcontract/{contract.pk}/change/")
    assert "Publish a version to download typed tracking code" in page.content.decode()
    download = client.get(f"/admin/schemas_admin/eventcontract/{contract.pk}/codegen/kotlin/")
    assert download.status_code == 302
    messages = client.get(download["Location"]).content.decode()
    assert "No published contract for the event" in messages


def files_in(directory: Path) -> set[str]:
    return {str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file()}


def test_command_writes_checks_and_removes_what_is_no_longer_generated(db, tmp_path):
    contracts = publish_all()
    target = tmp_path / "tracking"

    call_command("codegen", "typescript", str(target))
    assert "CatalogViewed.ts" in files_in(target)
    call_command("codegen", "typescript", str(target), "--check")  # up to date

    (target / "tracker.ts").write_text("// edited by hand\n")
    with pytest.raises(CommandError, match=r"changed: tracker\.ts"):
        call_command("codegen", "typescript", str(target), "--check")

    contracts[2].status = EventContract.Status.ARCHIVED  # catalog_viewed
    contracts[2].save()
    with pytest.raises(CommandError, match=r"no longer generated: CatalogViewed\.ts"):
        call_command("codegen", "typescript", str(target), "--check")
    (target / "notes.md").write_text("mine\n")
    call_command("codegen", "typescript", str(target))
    assert "CatalogViewed.ts" not in files_in(target)
    assert "notes.md" in files_in(target)  # files it did not write stay
    assert "edited by hand" not in (target / "tracker.ts").read_text()
    call_command("codegen", "typescript", str(target), "--check")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["swift", "{dir}", "--event", "nothing"], "No published contract for the event"),
        (["typescript", "{dir}", "--package", "com.x"], "typescript takes no option 'package'"),
        (["kotlin", "{dir}", "--package", "com.class"], "is not a Kotlin package name"),
        (["kotlin", "{ts}"], "holds generated typescript code"),
    ],
)
def test_command_explains_what_is_wrong(db, tmp_path, arguments, message):
    publish_all()
    call_command("codegen", "typescript", str(tmp_path / "ts"))
    paths = {"dir": str(tmp_path / "out"), "ts": str(tmp_path / "ts")}

    with pytest.raises(CommandError, match=message):
        call_command("codegen", *[argument.format(**paths) for argument in arguments])


def test_new_versions_keep_the_old_code_until_deprecated_and_removed(db, pm, tmp_path):
    """The client-side workflow of the README: regenerate after each contract change."""
    contract = make_contract("app_opened", APP_OPENED_V1)
    target = tmp_path / "tracking"

    call_command("codegen", "kotlin", str(target))
    code = (target / "AppOpened.kt").read_text()
    assert "typealias AppOpened = AppOpenedV1" in code

    add_version(contract, 2, APP_OPENED_V2)  # v2 published: v1 stays, the alias moves
    call_command("codegen", "kotlin", str(target))
    code = (target / "AppOpened.kt").read_text()
    assert "data class AppOpenedV1(" in code and "data class AppOpenedV2(" in code
    assert "@Deprecated" not in code
    assert "typealias AppOpened = AppOpenedV2" in code
    assert "fun trackAppOpenedV1(" in (target / "Tracker.kt").read_text()

    version = ContractVersion.objects.get(contract=contract, version=1)
    publishing.deprecate(version, pm)  # v1 deprecated: still there, marked
    call_command("codegen", "kotlin", str(target))
    code = (target / "AppOpened.kt").read_text()
    assert '@Deprecated("Version 1 of `app_opened` is deprecated' in code

    contract.status = EventContract.Status.ARCHIVED  # the contract removed: its code goes
    contract.save()
    call_command("codegen", "kotlin", str(target))
    assert not (target / "AppOpened.kt").exists()
    assert "trackAppOpened" not in (target / "Tracker.kt").read_text()
