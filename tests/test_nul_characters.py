"""NUL characters (``\\u0000``, ``%00``) from users: PostgreSQL's text and jsonb refuse them, so
each place that takes text from a user says what is wrong instead of failing in the database.
(The matcher's side is in test_matcher_poison.py.)"""

import base64
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.contracts_fixtures import ORDER_ID, PASSWORD, record
from tests.test_contracts_admin import logged_in, save_draft

pytest_plugins = ["tests.contracts_fixtures"]


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/?q=%00",
        "/dashboard/?event=checkout%00",
        "/dashboard/export/csv?app=%00",
        "/admin/schemas_admin/eventcontract/?q=%00",
        "/registry/subjects/orders%00/versions",
        "/registry/config/orders%00",
        "/api/v1/codegen/typescript/checkout%00",
    ],
)
def test_an_address_with_a_nul_character_is_a_400_saying_so(db, url):
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("root", password=PASSWORD))

    response = client.get(url)

    assert response.status_code == 400
    assert "NUL character (%00)" in response.content.decode()


def test_a_draft_with_a_nul_character_is_explained_and_not_saved(pm, contract):
    note = {"name": "note", "type": "string", "doc": "A note.", "default": "a\u0000b"}

    response = save_draft(logged_in(pm), contract, record(ORDER_ID, note))

    assert response.status_code == 200
    assert "NUL character (\\u0000) in fields[1].default" in response.content.decode()
    assert not contract.versions.exists()


def test_the_registry_refuses_a_schema_with_a_nul_character(pm):
    schema = json.dumps({"type": "enum", "name": "E", "symbols": ["A"], "doc": "x\u0000"})

    response = Client().post(
        "/registry/subjects/plain-value/versions",
        json.dumps({"schema": schema}),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic("pm", PASSWORD),
    )

    assert (response.status_code, response.json()["error_code"]) == (422, 42201)
    assert "NUL character" in response.json()["message"] and "in doc" in response.json()["message"]


@pytest.mark.parametrize("url", ["/registry/subjects", "/api/v1/codegen/typescript"])
def test_basic_credentials_with_a_nul_character_are_wrong_credentials(pm, url):
    response = Client().get(url, HTTP_AUTHORIZATION=basic("p\u0000m", PASSWORD))

    assert response.status_code == 401
