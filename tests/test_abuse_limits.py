"""Limits by client address: failed authentication on the collector and the registry, and the
registry's anonymous reads. Counts live in the suite's Redis; each test uses addresses of its
own, so no count left by another test can make it pass or fail."""

import base64
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from events.models import ClientAPIKey
from schemas_admin.registry.auth import PUBLISHER, publisher_password
from tests.conftest import make_event, post_json
from tests.contracts_fixtures import PASSWORD

pytest_plugins = ["tests.contracts_fixtures"]


def new_address() -> str:
    """An address no other test (or earlier run) counted anything for."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def post_with_key(key: str, address: str, **headers):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return post_json(client, make_event(), REMOTE_ADDR=address, **headers)


def test_collector_refuses_an_address_that_guesses_keys(
    client_app, raw_topic, settings, django_assert_num_queries
):
    settings.AUTH_FAILURE_RATE_LIMIT = "3/h"
    guesser, neighbour = new_address(), new_address()
    _, cached_key = ClientAPIKey.objects.create_key(name="cached", app=client_app)
    _, fresh_key = ClientAPIKey.objects.create_key(name="fresh", app=client_app)
    assert post_with_key(cached_key, guesser).status_code == 202  # this process knows it now

    guesses = [post_with_key(f"guess.{n}", guesser) for n in range(3)]
    assert [r.status_code for r in guesses] == [401, 401, 401]
    with django_assert_num_queries(0):  # blocked before any key is looked up
        blocked = post_with_key(fresh_key, guesser)
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "throttled"
    assert blocked.json()["detail"].startswith("Too many failed authentication attempts")
    assert 0 < int(blocked["Retry-After"]) <= 3600
    assert post_with_key(cached_key, guesser).status_code == 202
    assert post_with_key(fresh_key, neighbour).status_code == 202


def test_behind_a_proxy_the_configured_header_names_the_client(client_app, raw_topic, settings):
    settings.AUTH_FAILURE_RATE_LIMIT = "2/h"
    settings.CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    proxy, client, other = new_address(), new_address(), new_address()

    def guess(forwarded_for: str):
        return post_with_key("guess", proxy, HTTP_X_FORWARDED_FOR=forwarded_for)

    # The proxy appends the address it saw; what the client wrote before it is not trusted.
    assert [guess(f"{other}, {client}").status_code for _ in range(3)] == [401, 401, 429]
    assert guess(f"{client}, {other}").status_code == 401


@pytest.mark.django_db
def test_registry_refuses_an_address_that_guesses_passwords(
    settings, pm, django_assert_num_queries
):
    settings.AUTH_FAILURE_RATE_LIMIT = "3/h"
    address = new_address()
    client = Client(REMOTE_ADDR=address)
    url = "/registry/subjects/guessing-value/versions"
    body = {"schema": '"string"'}

    def register(username: str, password: str):
        return client.post(
            url, body, content_type="application/json", HTTP_AUTHORIZATION=basic(username, password)
        )

    assert [register("pm", f"guess-{n}").status_code for n in range(2)] == [401, 401]
    assert register(PUBLISHER, "guess").status_code == 401
    with django_assert_num_queries(0):
        blocked = register("pm", PASSWORD)
    assert (blocked.status_code, blocked.json()["error_code"]) == (429, 42901)
    assert blocked["Content-Type"] == "application/vnd.schemaregistry.v1+json"
    assert 0 < int(blocked["Retry-After"]) <= 3600
    assert Client(REMOTE_ADDR=new_address()).post(
        url, body, content_type="application/json", HTTP_AUTHORIZATION=basic("pm", PASSWORD)
    ).json() == {"id": 1}


@pytest.mark.django_db
def test_anonymous_registry_reads_are_limited_per_address(settings, pm):
    settings.REGISTRY_READ_RATE_LIMIT = "3/h"
    client = Client(REMOTE_ADDR=new_address())
    reads = [
        client.get("/registry/subjects"),
        client.get("/registry/schemas/types"),
        client.post(
            "/registry/compatibility/subjects/s/versions",
            {"schema": '"int"'},
            content_type="application/json",
        ),
    ]
    assert [r.status_code for r in reads] == [200, 200, 200]

    refused = client.get("/registry/subjects")
    assert (refused.status_code, refused.json()["error_code"]) == (429, 42901)
    assert int(refused["Retry-After"]) > 0
    # Callers who authenticate (team members, the publishing task) are not limited.
    for user, password in (("pm", PASSWORD), (PUBLISHER, publisher_password())):
        read = client.get("/registry/subjects", HTTP_AUTHORIZATION=basic(user, password))
        assert read.status_code == 200
    assert Client(REMOTE_ADDR=new_address()).get("/registry/subjects").status_code == 200


@pytest.mark.django_db
def test_reads_can_require_credentials(settings, pm):
    settings.REGISTRY_REQUIRE_AUTH_FOR_READS = True
    client = Client(REMOTE_ADDR=new_address())

    anonymous = client.get("/registry/subjects")
    assert (anonymous.status_code, anonymous.json()["error_code"]) == (401, 401)
    assert anonymous["WWW-Authenticate"] == 'Basic realm="schema-registry"'
    wrong = client.get("/registry/subjects", HTTP_AUTHORIZATION=basic("pm", "wrong"))
    assert wrong.status_code == 401
    assert client.get("/registry/subjects", HTTP_AUTHORIZATION=basic("pm", PASSWORD)).json() == []


@pytest.mark.django_db
@pytest.mark.parametrize("login_url", ["/accounts/login/", "/admin/login/"])
def test_login_pages_refuse_an_address_that_guesses_passwords(settings, pm, login_url):
    settings.AUTH_FAILURE_RATE_LIMIT = "3/h"
    guesser = Client(REMOTE_ADDR=new_address())

    def log_in(client: Client, password: str):
        return client.post(login_url, {"username": "pm", "password": password})

    for n in range(3):
        wrong = log_in(guesser, f"guess-{n}")
        assert wrong.status_code == 200  # the form again, with its error
        assert "correct username and password" in wrong.content.decode()
    blocked = log_in(guesser, PASSWORD)
    assert blocked.status_code == 200
    assert "Too many failed sign-in attempts from your address" in blocked.content.decode()
    assert "_auth_user_id" not in guesser.session

    neighbour = Client(REMOTE_ADDR=new_address())
    assert log_in(neighbour, PASSWORD).status_code == 302
    assert neighbour.session["_auth_user_id"] == str(pm.pk)


@pytest.mark.django_db
def test_codegen_basic_auth_refuses_an_address_that_guesses_passwords(settings, pm):
    settings.AUTH_FAILURE_RATE_LIMIT = "3/h"
    guesser = Client(REMOTE_ADDR=new_address())
    url = "/api/v1/codegen/typescript"

    guesses = [guesser.get(url, HTTP_AUTHORIZATION=basic("pm", f"guess-{n}")) for n in range(3)]
    assert [r.status_code for r in guesses] == [401, 401, 401]
    blocked = guesser.get(url, HTTP_AUTHORIZATION=basic("pm", PASSWORD))
    assert blocked.status_code == 429
    assert blocked.json()["detail"].startswith("Too many failed authentication attempts")
    assert 0 < int(blocked["Retry-After"]) <= 3600
    allowed = Client(REMOTE_ADDR=new_address()).get(url, HTTP_AUTHORIZATION=basic("pm", PASSWORD))
    assert allowed.status_code not in (401, 403, 429)
