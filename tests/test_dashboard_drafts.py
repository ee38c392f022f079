"""Contracts drafted from unmatched samples: the inferred schema, and the admin's rules on it."""

import fastavro
from django.test import Client

from events.matcher.convert import compile_schema
from schemas_admin import inference, versions
from schemas_admin.models import ContractChange, ContractVersion, EventContract
from tests.contracts_fixtures import ORDER_ID, TOTAL, record
from tests.dashboard_fixtures import event, group

pytest_plugins = ["tests.contracts_fixtures"]

SAMPLES = [
    {
        "query": "red shoes",
        "results": 12,
        "score": 0.75,
        "searched_at": "2026-11-27T10:00:00.250Z",
        "day": "2026-11-27",
        "session": "0b7d6f3e-2c4a-4f0e-9d55-3f1c2a9b8e71",
        "filters": {"color": "red", "size": 42},
        "items": [{"sku": "a-1", "qty": 1}, {"sku": "b-2", "qty": 3, "gift": True}],
        "tags": ["sale"],
        "ref": "home",
    },
    {
        "query": "hats",
        "results": 0,
        "score": 1,
        "searched_at": "2026-11-27T11:00:00+01:00",
        "day": "2026-11-26",
        "session": "0b7d6f3e-2c4a-4f0e-9d55-3f1c2a9b8e72",
        "items": [],
        "tags": [],
        "ref": None,
        "page": 2,
    },
]


def field(schema: dict, name: str) -> dict:
    return next(f for f in schema["fields"] if f["name"] == name)


def matches(schema: dict, samples: list[dict]) -> None:
    """Every sample converts with the matcher's own converter for ``schema``."""
    convert = compile_schema(fastavro.parse_schema(schema))
    for sample in samples:
        convert(sample)


def test_inferred_schema_types_the_samples_and_the_matcher_accepts_them():
    inferred = inference.infer(SAMPLES, event_name="search_performed", namespace="com.shop")
    schema = inferred.schema

    assert (schema["name"], schema["namespace"]) == ("SearchPerformed", "com.shop")
    assert field(schema, "query")["type"] == "string"
    assert field(schema, "results")["type"] == "long"
    assert field(schema, "score")["type"] == "double"
    assert field(schema, "searched_at")["type"] == {
        "type": "long",
        "logicalType": "timestamp-millis",
    }
    assert field(schema, "day")["type"] == {"type": "int", "logicalType": "date"}
    assert field(schema, "session")["type"] == {"type": "string", "logicalType": "uuid"}
    filters = field(schema, "filters")
    assert filters["type"][0] == "null" and filters["default"] is None  # missing in one sample
    assert filters["type"][1]["type"] == "record" and filters["type"][1]["name"] == "Filters"
    items = field(schema, "items")["type"]["items"]
    assert items["name"] == "Item"
    assert field(items, "gift") == {**field(items, "gift"), "type": ["null", "boolean"]}
    assert field(schema, "ref")["type"] == ["null", "string"]
    assert field(schema, "page")["type"] == ["null", "long"]
    assert all(f["doc"] for f in schema["fields"])
    matches(schema, SAMPLES)


def test_inferred_contract_meets_the_admins_style_rules(contract):
    inferred = inference.infer(
        SAMPLES, event_name=contract.event_name, namespace=contract.namespace
    )
    assert versions.style_problems(contract, inferred.schema, None) == []


def test_values_of_several_types_become_a_union_and_bad_names_are_noted():
    samples = [{"id": 7, "bad-key": 1, "empty": None}, {"id": "A-7", "empty": None}]

    inferred = inference.infer(samples, event_name="thing", namespace="com.shop")

    assert field(inferred.schema, "id")["type"] == ["long", "string"]
    assert [f["name"] for f in inferred.schema["fields"]] == ["id", "empty"]
    assert any("“bad-key” cannot be an Avro field name" in note for note in inferred.notes)
    assert any("“empty” was null in every sample" in note for note in inferred.notes)
    matches(inferred.schema, [{"id": 7, "empty": None}, {"id": "A-7", "empty": None}])


def test_next_version_adds_the_new_fields_with_defaults_and_stays_compatible(contract):
    v1 = record(ORDER_ID, TOTAL)
    ContractVersion.objects.create(contract=contract, version=1, schema=v1, status="published")
    samples = [
        {"order_id": "A-1", "total": 3.5, "coupon": "XMAS"},
        {"order_id": 7, "total": 1.0, "shipping": {"method": "express", "days": 2}},
    ]

    inferred = inference.extend(v1, samples)
    schema = inferred.schema

    assert [f["name"] for f in schema["fields"]] == ["order_id", "total", "coupon", "shipping"]
    assert field(schema, "coupon") == {
        "name": "coupon",
        "type": ["null", "string"],
        "default": None,
        "doc": field(schema, "coupon")["doc"],
    }
    assert field(schema, "order_id") == ORDER_ID  # not retyped
    assert any("“order_id”: the samples carry integer, string" in n for n in inferred.notes)
    assert versions.style_problems(contract, schema, 2) == []
    assert versions.compatibility_problems(contract, schema, 2) == []


def test_a_pm_drafts_a_new_contract_from_an_unknown_events_samples(client: Client, pm, team):
    made = group(
        "search_performed",
        "unknown_event",
        "",
        samples=[event(sample, event="search_performed") for sample in SAMPLES],
    )
    client.force_login(pm)

    preview = client.get(f"/dashboard/groups/{made.pk}/draft/")
    saved = client.post(
        f"/dashboard/groups/{made.pk}/draft/",
        {
            "namespace": "com.shop.events",
            "team": team.pk,
            "description": "A shopper searched the catalogue.",
            "output_topic": "events.matched.search_performed",
        },
    )

    assert preview.status_code == 200
    assert '"name": "SearchPerformed"' in preview.content.decode().replace("&quot;", '"')
    contract = EventContract.objects.get(event_name="search_performed")
    version = contract.versions.get()
    assert saved.url == f"/admin/schemas_admin/contractversion/{version.pk}/change/"
    assert (version.version, version.status, version.author) == (1, "draft", pm)
    assert version.schema["doc"] == "A shopper searched the catalogue."
    assert version.schema["namespace"] == "com.shop.events"
    assert list(ContractChange.objects.values_list("action", flat=True).order_by("id")) == [
        "contract created",
        "draft created",
    ]
    matches(version.schema, SAMPLES)
    admin_page = client.get(saved.url)
    assert (
        admin_page.status_code == 200 and "This is the first version" in admin_page.content.decode()
    )


def test_a_draft_with_a_taken_topic_is_refused_with_the_reason(client: Client, pm, team, contract):
    made = group("search_performed", "unknown_event", "", samples=[event({"q": "x"})])
    client.force_login(pm)

    response = client.post(
        f"/dashboard/groups/{made.pk}/draft/",
        {"namespace": "com.shop", "team": team.pk, "output_topic": contract.output_topic},
    )

    assert response.status_code == 400
    assert "output_topic: Event contract with this Output topic already exists." in (
        response.content.decode()
    )
    assert not EventContract.objects.filter(event_name="search_performed").exists()


def test_the_next_version_is_drafted_once_then_refined_in_the_admin(client: Client, pm, contract):
    ContractVersion.objects.create(
        contract=contract, version=1, schema=record(ORDER_ID), status="published"
    )
    made = group(
        contract.event_name,
        "invalid_field",
        "coupon",
        samples=[event({"order_id": "A-1", "coupon": "X"}, event=contract.event_name)],
    )
    client.force_login(pm)

    first = client.post(f"/dashboard/groups/{made.pk}/draft/")
    again = client.post(f"/dashboard/groups/{made.pk}/draft/")

    draft = contract.versions.get(version=2)
    assert first.url == f"/admin/schemas_admin/contractversion/{draft.pk}/change/"
    assert [f["name"] for f in draft.schema["fields"]] == ["order_id", "coupon"]
    assert again.status_code == 400 and "Version 2 of checkout_completed is a draft already" in (
        again.content.decode()
    )
    page = client.get(f"/dashboard/groups/{made.pk}/").content.decode()
    assert "Refine draft v2" in page


def test_analysts_and_other_teams_cannot_draft(client: Client, analyst, outsider, contract):
    made = group(contract.event_name, samples=[event({"order_id": "A-1"})])

    for user in (analyst, outsider):
        client.force_login(user)
        assert client.post(f"/dashboard/groups/{made.pk}/draft/").status_code == 403
    client.force_login(analyst)
    assert (
        "Draft the next version" not in client.get(f"/dashboard/groups/{made.pk}/").content.decode()
    )
    assert contract.versions.count() == 0


def test_groups_without_properties_cannot_be_drafted_from(client: Client, pm):
    made = group("broken", "malformed_json", "", samples=["not json at all"])
    client.force_login(pm)

    response = client.get(f"/dashboard/groups/{made.pk}/draft/")

    assert response.status_code == 400
    assert "no sample with an object of properties" in response.content.decode()
