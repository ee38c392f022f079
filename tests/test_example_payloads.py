"""The example on a version's admin page is a complete collector request that matches: taken
from the page, posted to the real collector, matched by a real matcher, decoded from Avro."""

import html
import io
import json
import re
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal

import fastavro
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from schemas_admin import avro
from tests.conftest import post_json, read_topic
from tests.matcher_helpers import make_contract, run_in_process

pytest_plugins = ["tests.matcher_fixtures"]


def logical(base: str, logical_type: str, **extra) -> dict:
    return {"type": base, "logicalType": logical_type, **extra}


POINT = {
    "type": "record",
    "name": "Point",
    "fields": [{"name": "x", "type": "int"}, {"name": "y", "type": "int", "default": 7}],
}
NODE = {  # recursive: a linked list
    "type": "record",
    "name": "Node",
    "fields": [{"name": "label", "type": "string"}, {"name": "next", "type": ["null", "Node"]}],
}
FIELDS = {
    "nothing": "null",
    "flag": "boolean",
    "count": "int",
    "big": "long",
    "ratio": "float",
    "amount": "double",
    "blob": "bytes",
    "text": "string",
    "point": POINT,
    "color": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]},
    "tags": {"type": "array", "items": "string"},
    "scores": {"type": "map", "values": "long"},
    "digest": {"type": "fixed", "name": "Digest", "size": 16},
    "maybe_text": ["null", "string"],
    "text_or_number": ["string", "long"],
    "maybe_point": ["null", "Point"],
    "price": logical("bytes", "decimal", precision=9, scale=2),
    "fraction": logical("bytes", "decimal", precision=3, scale=3),
    "units": logical("fixed", "decimal", name="Units", size=8, precision=12),
    "id": logical("string", "uuid"),
    "day": logical("int", "date"),
    "at_millis": logical("int", "time-millis"),
    "at_micros": logical("long", "time-micros"),
    "ts_millis": logical("long", "timestamp-millis"),
    "ts_micros": logical("long", "timestamp-micros"),
    "local_millis": logical("long", "local-timestamp-millis"),
    "local_micros": logical("long", "local-timestamp-micros"),
    "list": NODE,
}
DEFAULTS = [  # Avro writes byte defaults as text of code points; events carry base64
    {"name": "raw_default", "type": "bytes", "default": "\u00ff"},
    {"name": "fixed_default", "type": {"type": "fixed", "name": "Two", "size": 2}, "default": "ab"},
    {"name": "note", "type": "string", "default": "none"},
    {"name": "maybe", "type": ["null", "long"], "default": None},
]
ALL_TYPES = {
    "type": "record",
    "name": "AllTypes",
    "namespace": "com.shop.events",
    "fields": [{"name": name, "type": kind} for name, kind in FIELDS.items()] + DEFAULTS,
}


def shown_example(version) -> dict:
    """The example payload as a person reads it on the version's admin page."""
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    page = client.get(reverse("admin:schemas_admin_contractversion_change", args=[version.pk]))
    found = re.search(r'<pre class="example-payload">(.*?)</pre>', page.content.decode(), re.S)
    assert found, "no example payload on the page"
    return json.loads(html.unescape(found[1]))


def test_the_example_of_every_avro_type_matches(api, matcher_setup):
    contract = make_contract("all_types", ALL_TYPES)
    version = contract.versions.get()
    example = shown_example(version)
    assert {"event", "timestamp", "platform", "app_version", "properties"} <= set(example)
    assert example["contract_version"] == 1

    response = post_json(api, example)
    assert response.status_code == 202, response.json()
    run_in_process(matcher_setup)

    assert read_topic(matcher_setup.unmatched_topic) == []
    [matched] = read_topic(contract.output_topic)
    parsed = fastavro.parse_schema(ALL_TYPES)
    datum = fastavro.schemaless_reader(io.BytesIO(matched.value()[5:]), parsed, parsed)
    assert int.from_bytes(matched.value()[1:5], "big") == version.registry_schema_id
    assert datum["price"] == Decimal("1.55") and datum["fraction"] == Decimal("0.555")
    assert datum["units"] == Decimal(1)
    assert datum["id"] == uuid.UUID(example["properties"]["id"])
    assert datum["day"] == date(2026, 11, 25)
    assert datum["at_micros"] == time(10, 0, 0, 123456)
    assert datum["ts_millis"] == datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC)
    assert datum["local_micros"] == datetime(2026, 11, 25, 10, 0, 0, 123456)
    assert len(datum["digest"]) == 16 and datum["blob"] == b"bytes"
    assert datum["list"] == {"label": "text", "next": None}
    assert datum["point"] == {"x": 1, "y": 7}
    assert (datum["raw_default"], datum["note"], datum["maybe"]) == (b"bytes", "none", None)


def test_examples_keep_defaults_a_client_can_send() -> None:
    properties = avro.example(ALL_TYPES)
    assert properties["note"] == "none" and properties["maybe"] is None
    assert properties["raw_default"] == "Ynl0ZXM=" and properties["fixed_default"] == "AQI="
