"""The built-in registry over real HTTP, driven by confluent-kafka's own client and serdes."""

import json

import pytest
import requests
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from django.db import DatabaseError

from schemas_admin.models import ContractVersion
from schemas_admin.registry import store
from schemas_admin.registry.auth import PUBLISHER, publisher_password
from tests.contracts_fixtures import ORDER_ID, PASSWORD, TOTAL, record

pytest_plugins = ["tests.contracts_fixtures"]
pytestmark = pytest.mark.django_db(transaction=True)

USER = {
    "type": "record",
    "name": "User",
    "namespace": "com.example",
    "fields": [{"name": "name", "type": "string"}],
}
USER_V2 = {**USER, "fields": [*USER["fields"], {"name": "age", "type": "int", "default": 0}]}
USER_BREAKING = {**USER, "fields": [{"name": "name", "type": "long"}]}


def avro_schema(schema: dict, references: list | None = None) -> Schema:
    return Schema(json.dumps(schema), "AVRO", references or [])


def error_of(call, *args, **kwargs) -> SchemaRegistryError:
    with pytest.raises(SchemaRegistryError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_register_and_read_back(registry_client: SchemaRegistryClient) -> None:
    schema_id = registry_client.register_schema("users-value", avro_schema(USER))
    assert registry_client.register_schema("users-value", avro_schema(USER)) == schema_id
    # Same schema under another subject: same id, its own version numbering.
    assert registry_client.register_schema("people-value", avro_schema(USER)) == schema_id
    v2_id = registry_client.register_schema("users-value", avro_schema(USER_V2))
    assert v2_id != schema_id

    assert registry_client.get_subjects() == ["people-value", "users-value"]
    assert registry_client.get_versions("users-value") == [1, 2]
    latest = registry_client.get_latest_version("users-value")
    assert (latest.version, latest.schema_id) == (2, v2_id)
    assert json.loads(latest.schema.schema_str) == USER_V2
    first = registry_client.get_version("users-value", 1)
    assert json.loads(first.schema.schema_str) == USER
    fetched = SchemaRegistryClient({"url": registry_client.config()["url"]}).get_schema(v2_id)
    assert json.loads(fetched.schema_str) == USER_V2
    assert {(v.subject, v.version) for v in registry_client.get_schema_versions(schema_id)} == {
        ("people-value", 1),
        ("users-value", 1),
    }
    found = registry_client.lookup_schema("users-value", avro_schema(USER))
    assert (found.version, found.schema_id) == (1, schema_id)


def test_incompatible_schema_is_refused_with_409(registry_client: SchemaRegistryClient) -> None:
    registry_client.register_schema("users-value", avro_schema(USER))
    error = error_of(registry_client.register_schema, "users-value", avro_schema(USER_BREAKING))
    assert (error.http_status_code, error.error_code) == (409, 409)
    assert "reader type: long not compatible with writer type: string" in error.error_message
    assert not registry_client.test_compatibility("users-value", avro_schema(USER_BREAKING))
    assert registry_client.test_compatibility("users-value", avro_schema(USER_V2))

    registry_client.set_compatibility("users-value", "NONE")
    assert registry_client.get_compatibility("users-value") == "NONE"
    assert registry_client.register_schema("users-value", avro_schema(USER_BREAKING)) > 0


def test_config(registry_client: SchemaRegistryClient, registry_url: str, pm) -> None:
    assert registry_client.get_compatibility() == "BACKWARD"
    error = error_of(registry_client.get_compatibility, "users-value")
    assert (error.http_status_code, error.error_code) == (404, 40408)
    registry_client.set_compatibility("users-value", "FULL_TRANSITIVE")
    assert registry_client.get_compatibility("users-value") == "FULL_TRANSITIVE"
    error = error_of(registry_client.set_compatibility, "users-value", "SIDEWAYS")
    assert (error.http_status_code, error.error_code) == (422, 42203)
    # The global level belongs to superusers.
    error = error_of(registry_client.set_compatibility, None, "NONE")
    assert (error.http_status_code, error.error_code) == (403, 40301)
    pm.is_superuser = True
    pm.save()
    assert registry_client.set_compatibility(None, "FORWARD") == {"compatibility": "FORWARD"}
    got = requests.get(f"{registry_url}/config/other-value?defaultToGlobal=true", timeout=10)
    assert got.json() == {"compatibilityLevel": "FORWARD"}


def test_soft_and_hard_delete(registry_client: SchemaRegistryClient) -> None:
    schema_id = registry_client.register_schema("users-value", avro_schema(USER))
    registry_client.register_schema("users-value", avro_schema(USER_V2))

    error = error_of(registry_client.delete_version, "users-value", 1, permanent=True)
    assert (error.http_status_code, error.error_code) == (404, 40407)
    assert registry_client.delete_version("users-value", 1) == 1
    error = error_of(registry_client.delete_version, "users-value", 1)
    assert (error.http_status_code, error.error_code) == (404, 40406)
    assert registry_client.get_versions("users-value") == [2]
    reader = SchemaRegistryClient({"url": registry_client.config()["url"]})  # nothing cached
    error = error_of(reader.get_version, "users-value", 1)
    assert (error.http_status_code, error.error_code) == (404, 40402)
    assert reader.get_version("users-value", 1, deleted=True).schema_id == schema_id
    assert registry_client.delete_version("users-value", 1, permanent=True) == 1
    error = error_of(
        SchemaRegistryClient({"url": registry_client.config()["url"]}).get_schema, schema_id
    )
    assert (error.http_status_code, error.error_code) == (404, 40403)

    error = error_of(registry_client.delete_subject, "users-value", permanent=True)
    assert (error.http_status_code, error.error_code) == (404, 40405)
    assert registry_client.delete_subject("users-value") == [2]
    assert registry_client.get_subjects() == []
    error = error_of(registry_client.delete_subject, "users-value")
    assert (error.http_status_code, error.error_code) == (404, 40404)
    assert registry_client.delete_subject("users-value", permanent=True) == [2]
    error = error_of(registry_client.get_versions, "users-value")
    assert (error.http_status_code, error.error_code) == (404, 40401)


def test_references(registry_client: SchemaRegistryClient) -> None:
    address = {
        "type": "record",
        "name": "Address",
        "namespace": "com.example",
        "fields": [{"name": "city", "type": "string"}],
    }
    registry_client.register_schema("address", avro_schema(address))
    customer = {
        "type": "record",
        "name": "Customer",
        "namespace": "com.example",
        "fields": [{"name": "home", "type": "com.example.Address"}],
    }
    refs = [SchemaReference("com.example.Address", "address", 1)]
    schema_id = registry_client.register_schema("customers-value", avro_schema(customer, refs))
    fetched = SchemaRegistryClient({"url": registry_client.config()["url"]}).get_schema(schema_id)
    assert [(r.name, r.subject, r.version) for r in fetched.references] == [
        ("com.example.Address", "address", 1)
    ]
    error = error_of(registry_client.delete_version, "address", 1)
    assert (error.http_status_code, error.error_code) == (422, 42206)

    missing = [SchemaReference("com.example.Address", "address", 9)]
    error = error_of(registry_client.register_schema, "c2-value", avro_schema(customer, missing))
    assert (error.http_status_code, error.error_code) == (422, 42201)

    serializer = AvroSerializer(
        registry_client, avro_schema(customer, refs), conf={"auto.register.schemas": False}
    )
    context = SerializationContext("customers", MessageField.VALUE)
    data = serializer({"home": {"city": "Lyon"}}, context)
    assert AvroDeserializer(registry_client)(data, context) == {"home": {"city": "Lyon"}}


def test_avro_serializer_round_trip(registry_client: SchemaRegistryClient) -> None:
    serializer = AvroSerializer(registry_client, json.dumps(USER))
    context = SerializationContext("signups", MessageField.VALUE)
    data = serializer({"name": "Ada"}, context)
    schema_id = int.from_bytes(data[1:5], "big")
    assert data[0] == 0
    assert registry_client.get_latest_version("signups-value").schema_id == schema_id

    reader = SchemaRegistryClient({"url": registry_client.config()["url"]})  # reads need no auth
    assert AvroDeserializer(reader)(data, context) == {"name": "Ada"}
    # A reader on a newer schema resolves the old data with the defaults.
    upgraded = AvroDeserializer(reader, json.dumps(USER_V2))
    assert upgraded(data, context) == {"name": "Ada", "age": 0}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "subjects/s/versions", {"schema": "{not json"}, 422, 42201),
        ("post", "subjects/s/versions", {"schema": '{"type": "recrd"}'}, 422, 42201),
        ("post", "subjects/s/versions", {"schema": "x", "schemaType": "PROTOBUF"}, 422, 42201),
        ("post", "subjects/s/versions", {"schemaType": "AVRO"}, 422, 42201),
        ("post", "subjects/s/versions", ["not", "an", "object"], 422, 42201),
        ("post", "subjects/s/versions", {"schema": '"int"', "references": "x"}, 422, 42201),
        ("get", "subjects/nope/versions/1", None, 404, 40401),
        ("get", "subjects/nope/versions/one", None, 422, 42202),
        ("get", "subjects/nope/versions/0", None, 422, 42202),
        ("get", "schemas/ids/12345", None, 404, 40403),
        ("get", "schemas/ids/abc", None, 404, 40403),
        ("put", "config/s", {"compatibility": 7}, 422, 42203),
        ("put", "config/s", "BACKWARD", 422, 42203),
        ("post", "subjects/nope", {"schema": '"int"'}, 404, 40401),
        ("get", "no/such/endpoint", None, 404, 404),
        ("patch", "subjects", None, 405, 405),
    ],
)
def test_bad_input_gets_confluent_errors(registry_url, pm, method, path, body, status, code):
    response = requests.request(
        method, f"{registry_url}/{path}", json=body, auth=("pm", PASSWORD), timeout=10
    )
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/vnd.schemaregistry.v1+json"
    assert response.json()["error_code"] == code


def test_invalid_json_body_is_a_400(registry_url, pm) -> None:
    response = requests.post(
        f"{registry_url}/subjects/s/versions",
        data=b"{oops",
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        auth=(pm.username, PASSWORD),
        timeout=10,
    )
    assert (response.status_code, response.json()["error_code"]) == (400, 400)


def test_raw_schema_endpoints_and_normalize(registry_client, registry_url) -> None:
    reordered = {"fields": USER["fields"], "name": "com.example.User", "type": "record"}
    first = registry_client.register_schema("a-value", avro_schema(USER), normalize_schemas=True)
    second = registry_client.register_schema(
        "b-value", avro_schema(reordered), normalize_schemas=True
    )
    assert first == second
    text = requests.get(f"{registry_url}/subjects/a-value/versions/latest/schema", timeout=10)
    assert json.loads(text.text)["name"] == "com.example.User"
    by_id = requests.get(f"{registry_url}/schemas/ids/{first}/schema", timeout=10)
    assert by_id.text == text.text
    assert requests.get(f"{registry_url}/schemas/types", timeout=10).json() == ["AVRO"]


def test_writes_need_authentication(registry_url, db) -> None:
    anonymous = SchemaRegistryClient({"url": registry_url})
    error = error_of(anonymous.register_schema, "users-value", avro_schema(USER))
    assert (error.http_status_code, error.error_code) == (401, 401)
    wrong = SchemaRegistryClient({"url": registry_url, "basic.auth.user.info": "pm:wrong"})
    assert error_of(wrong.register_schema, "users-value", avro_schema(USER)).http_status_code == 401
    assert anonymous.get_subjects() == []


def user_client(registry_url: str, username: str, password: str = PASSWORD):
    return SchemaRegistryClient(
        {"url": registry_url, "basic.auth.user.info": f"{username}:{password}"}
    )


def test_contract_subjects_change_only_through_publishing(
    registry_url, contract, pm, outsider, analyst
) -> None:
    schema = avro_schema(record(ORDER_ID, TOTAL))
    subject = contract.registry_subject
    publisher = user_client(registry_url, PUBLISHER, publisher_password())
    assert publisher.register_schema(subject, schema) > 0
    pm.is_superuser = True  # not even a superuser in the owning team bypasses review
    pm.save()

    for user in (pm, outsider, analyst):
        client = user_client(registry_url, user.username)
        writes = [
            (client.register_schema, subject, avro_schema(record(ORDER_ID))),
            (client.delete_version, subject, 1),
            (client.delete_subject, subject),
            (client.set_compatibility, subject, "NONE"),
        ]
        for call, *args in writes:
            error = error_of(call, *args)
            assert (error.http_status_code, error.error_code) == (403, 40301), call
            assert "publish workflow" in error.error_message
    assert publisher.get_versions(subject) == [1]
    assert error_of(publisher.get_compatibility, subject).error_code == 40408  # none was set
    # A subject no contract stands behind keeps the open rules: any user but analysts.
    assert user_client(registry_url, outsider.username).register_schema("free-value", schema)
    error = error_of(user_client(registry_url, analyst.username).register_schema, "f-value", schema)
    assert (error.http_status_code, error.error_code) == (403, 40301)


def test_soft_deleting_latest_deletes_the_newest_live_version(registry_url, pm) -> None:
    client = user_client(registry_url, pm.username)
    ids = [client.register_schema("users-value", avro_schema(s)) for s in (USER, USER_V2)]
    url = f"{registry_url}/subjects/users-value/versions"

    def call(method: str, path: str) -> requests.Response:
        return requests.request(method, f"{url}/{path}", auth=("pm", PASSWORD), timeout=10)

    assert call("DELETE", "latest").json() == 2
    assert call("GET", "latest").json()["id"] == ids[0]
    assert call("GET", "latest?deleted=true").json()["version"] == 1
    permanent = call("DELETE", "latest?permanent=true")  # latest is live: soft-delete it first
    assert (permanent.status_code, permanent.json()["error_code"]) == (404, 40407)
    assert call("DELETE", "latest").json() == 1
    gone = call("GET", "latest")
    assert (gone.status_code, gone.json()["error_code"]) == (404, 40401)
    assert call("GET", "2?deleted=true").json()["id"] == ids[1]


def test_schemas_of_published_versions_are_never_deleted_for_good(
    registry_url, contract, pm
) -> None:
    schema = record(ORDER_ID, TOTAL)
    publisher = user_client(registry_url, PUBLISHER, publisher_password())
    schema_id = publisher.register_schema(contract.registry_subject, avro_schema(schema))
    ContractVersion.objects.create(
        contract=contract,
        version=1,
        schema=schema,
        status="deprecated",
        registry_subject=contract.registry_subject,
        registry_schema_id=schema_id,
    )
    # The same schema under a subject of its own has the same id.
    member = user_client(registry_url, pm.username)
    assert member.register_schema("mirror-value", avro_schema(schema)) == schema_id

    for client, subject in ((member, "mirror-value"), (publisher, contract.registry_subject)):
        assert client.delete_version(subject, 1) == 1  # soft: the id stays readable
        for delete, args in (
            (client.delete_version, (subject, 1)),
            (client.delete_subject, (subject,)),
        ):
            error = error_of(delete, *args, permanent=True)
            assert (error.http_status_code, error.error_code) == (422, 42205)
            assert "Deprecate the contract version instead" in error.error_message
    reader = SchemaRegistryClient({"url": registry_url})
    assert json.loads(reader.get_schema(schema_id).schema_str) == schema


def test_unexpected_failures_are_confluent_errors_too(client, monkeypatch, settings) -> None:
    def broken(deleted: bool) -> list[str]:
        raise DatabaseError("database is locked")

    monkeypatch.setattr(store, "subjects", broken)
    response = client.get("/registry/subjects")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/vnd.schemaregistry.v1+json"
    assert response.json() == {
        "error_code": 50001,
        "message": "Error in the backend data store: database is locked",
    }

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    too_big = client.post(
        "/registry/compatibility/subjects/s/versions",
        {"schema": "x" * 200},
        content_type="application/json",
    )
    assert (too_big.status_code, too_big.json()["error_code"]) == (413, 413)
