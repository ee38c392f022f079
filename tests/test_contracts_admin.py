"""The contracts admin through the test client: drafts, checks, publishing, diff, rights."""

import json

import pytest
from django.contrib.auth.models import User
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from schemas_admin.models import (
    ContractChange,
    ContractVersion,
    EventContract,
    ImmutableVersion,
    Team,
)
from tests.contracts_fixtures import ORDER_ID, PASSWORD, TOTAL, record

pytest_plugins = ["tests.contracts_fixtures"]

ADD = reverse("admin:schemas_admin_contractversion_add")
# The management forms of the contract page's (read-only) inlines.
EMPTY_INLINES = {
    f"{prefix}-{name}": "0"
    for prefix in ("versions", "changes")
    for name in ("TOTAL_FORMS", "INITIAL_FORMS")
}


def change_url(version: ContractVersion) -> str:
    return reverse("admin:schemas_admin_contractversion_change", args=[version.pk])


def step_url(version: ContractVersion, step: str) -> str:
    return reverse(f"admin:schemas_admin_contractversion_{step}", args=[version.pk])


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def save_draft(client: Client, contract, schema, changelog: str = "First cut."):
    body = schema if isinstance(schema, str) else json.dumps(schema)
    return client.post(ADD, {"contract": contract.pk, "schema": body, "changelog": changelog})


def published(contract, number: int, schema: dict) -> ContractVersion:
    return ContractVersion.objects.create(
        contract=contract, version=number, schema=schema, status="published"
    )


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ('{"type": "record", "name": ', "This is not valid JSON"),
        ('{"type": "record", "name": "CheckoutCompleted"}', "This is not a valid Avro schema"),
        (record({"name": "order_id", "type": "string"}), "Field &quot;order_id&quot; needs a"),
        (record(ORDER_ID, name="Checkout"), "The record must be named &quot;CheckoutCompleted"),
    ],
)
def test_invalid_drafts_are_explained_and_not_saved(pm, contract, schema, message) -> None:
    response = save_draft(logged_in(pm), contract, schema)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not contract.versions.exists()


def test_new_draft_starts_from_the_latest_version(pm, contract) -> None:
    published(contract, 1, record(ORDER_ID))
    page = logged_in(pm).get(f"{ADD}?contract={contract.pk}").content.decode()
    assert "The order&#x27;s id." in page


def test_draft_is_saved_with_author_number_example_and_history(pm, contract) -> None:
    client = logged_in(pm)
    response = save_draft(client, contract, record(ORDER_ID, TOTAL))
    assert response.status_code == 302
    version = contract.versions.get()
    assert (version.version, version.status, version.author) == (1, "draft", pm)
    page = client.get(change_url(version)).content.decode()
    assert "This is the first version" in page
    assert "&quot;order_id&quot;: &quot;text&quot;" in page  # the example payload
    assert ">Publish</button>" in page
    assert ContractChange.objects.filter(contract=contract, user=pm, action="draft created")


def test_incompatible_change_is_shown_and_blocked(pm, contract) -> None:
    published(contract, 1, record(ORDER_ID, TOTAL))
    retyped = {**ORDER_ID, "type": "long"}
    client = logged_in(pm)
    response = save_draft(client, contract, record(retyped, TOTAL), "Numeric ids.")
    assert response.status_code == 302
    draft = contract.versions.get(version=2)
    messages = [m.message for m in response.wsgi_request._messages]
    assert any("cannot be published yet" in m for m in messages)

    page = client.get(change_url(draft)).content.decode()
    assert "Not compatible (BACKWARD)" in page
    assert "reader type: long not compatible with writer type: string" in page

    response = client.post(step_url(draft, "publish"), follow=True)
    assert "was not published" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_new_fields_need_defaults_after_the_first_version(pm, contract) -> None:
    published(contract, 1, record(ORDER_ID))
    no_default = {k: v for k, v in TOTAL.items() if k != "default"}
    response = save_draft(logged_in(pm), contract, record(ORDER_ID, no_default))
    assert "Field &quot;total&quot; is new, so it needs a &quot;default&quot;" in (
        response.content.decode()
    )


def test_diff_shows_both_versions(pm, contract) -> None:
    v1 = published(contract, 1, record(ORDER_ID))
    v2 = ContractVersion.objects.create(
        contract=contract, version=2, schema=record(ORDER_ID, TOTAL)
    )
    page = logged_in(pm).get(step_url(v2, "diff")).content.decode()
    assert "v1 (published)" in page and "v2 (draft)" in page
    assert 'class="diff_add"' in page and "Amount&nbsp;paid." in page
    again = logged_in(pm).get(f"{step_url(v1, 'diff')}?against={v2.pk}").content.decode()
    assert "v2 (draft)" in again


def test_published_versions_are_immutable(pm, contract) -> None:
    version = published(contract, 1, record(ORDER_ID))
    client = logged_in(pm)
    page = client.get(change_url(version)).content.decode()
    assert 'name="schema"' not in page  # shown, not editable
    client.post(change_url(version), {"schema": json.dumps(record(ORDER_ID, TOTAL))})
    version.refresh_from_db()
    assert version.schema == record(ORDER_ID)
    version.schema = record(ORDER_ID, TOTAL)
    with pytest.raises(ImmutableVersion):
        version.save()


@pytest.mark.parametrize("who", ["outsider", "analyst"])
def test_other_staff_and_analysts_only_view(request, contract, who) -> None:
    client = logged_in(request.getfixturevalue(who))
    draft = ContractVersion.objects.create(contract=contract, version=1, schema=record(ORDER_ID))
    page = client.get(change_url(draft))
    assert page.status_code == 200
    assert ">Publish</button>" not in page.content.decode()
    assert 'name="schema"' not in page.content.decode()
    assert client.get(ADD).status_code == 403
    assert save_draft(client, contract, record(ORDER_ID)).status_code == 403
    client.post(step_url(draft, "publish"))
    draft.refresh_from_db()
    assert draft.status == "draft"
    contract_page = reverse("admin:schemas_admin_eventcontract_change", args=[contract.pk])
    assert client.get(contract_page).status_code == 200


def test_deprecate(pm, contract) -> None:
    version = published(contract, 1, record(ORDER_ID))
    logged_in(pm).post(step_url(version, "deprecate"))
    version.refresh_from_db()
    assert version.status == "deprecated" and version.deprecated_at is not None
    assert ContractChange.objects.filter(version=version, action="deprecated", user=pm)


def test_contract_pages_show_versions_and_history(pm, contract) -> None:
    client = logged_in(pm)
    assert client.get(reverse("admin:schemas_admin_eventcontract_add")).status_code == 200
    save_draft(client, contract, record(ORDER_ID))
    page = client.get(reverse("admin:schemas_admin_eventcontract_change", args=[contract.pk]))
    text = page.content.decode()
    assert "Write a new version" in text
    assert ">v1</a>" in text and "draft created" in text


def test_a_contract_with_published_versions_cannot_be_deleted(pm, contract) -> None:
    published(contract, 1, record(ORDER_ID))
    ContractVersion.objects.create(contract=contract, version=2, schema=record(ORDER_ID, TOTAL))
    delete = reverse("admin:schemas_admin_eventcontract_delete", args=[contract.pk])

    response = logged_in(pm).post(delete, {"post": "yes"}, follow=True)

    assert "has published versions (v1), so it cannot be deleted" in response.content.decode()
    assert "Deprecate the versions, or archive the contract, instead." in (
        response.content.decode()
    )
    assert contract.versions.count() == 2
    with pytest.raises(ProtectedError, match="Deprecate the versions"):
        contract.delete()
    with pytest.raises(ProtectedError):
        EventContract.objects.filter(pk=contract.pk).delete()
    assert EventContract.objects.filter(pk=contract.pk).exists()


def test_a_contract_with_drafts_only_can_be_deleted(pm, contract) -> None:
    ContractVersion.objects.create(contract=contract, version=1, schema=record(ORDER_ID))
    delete = reverse("admin:schemas_admin_eventcontract_delete", args=[contract.pk])

    assert logged_in(pm).post(delete, {"post": "yes"}).status_code == 302

    assert not EventContract.objects.filter(pk=contract.pk).exists()
    assert not ContractVersion.objects.exists()


def test_a_superuser_adds_the_first_contract_before_any_team_exists(db) -> None:
    admin = User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    client = logged_in(admin)
    changelist = reverse("admin:schemas_admin_eventcontract_changelist")
    add = reverse("admin:schemas_admin_eventcontract_add")

    assert f'href="{add}"' in client.get(changelist).content.decode()
    page = client.get(add).content.decode()
    assert "There is no team yet: create the one that owns this event with the +" in page
    assert 'id="add_id_team"' in page  # the + button next to the team
    created = client.post(
        reverse("admin:schemas_admin_team_add"), {"name": "Growth", "slug": "growth"}
    )
    assert created.status_code == 302
    response = client.post(
        add,
        {
            "event_name": "signed_up",
            "namespace": "com.acme.events",
            "team": Team.objects.get(slug="growth").pk,
            "compatibility": "BACKWARD",
            "output_topic": "events.signed_up",
            "status": "active",
            **EMPTY_INLINES,
        },
    )
    assert response.status_code == 302, response.content.decode()
    assert EventContract.objects.get(event_name="signed_up").team.slug == "growth"


@pytest.mark.parametrize(
    ("who", "told"),
    [("outsider", "you are in no team"), ("analyst", "Analysts read contracts")],
)
def test_staff_who_cannot_add_contracts_are_told_why(request, contract, who, told) -> None:
    client = logged_in(request.getfixturevalue(who))
    changelist = reverse("admin:schemas_admin_eventcontract_changelist")
    add = reverse("admin:schemas_admin_eventcontract_add")

    page = client.get(changelist).content.decode()
    assert told in page and f'href="{add}"' not in page
    response = client.get(add, follow=True)
    assert response.redirect_chain == [(changelist, 302)]
    assert told in response.content.decode()
    assert client.post(add, {"event_name": "x"}).status_code == 302
    assert EventContract.objects.count() == 1
