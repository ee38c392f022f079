"""The contracts the codegen tests generate code for: every kind of Avro type the matcher reads.

``CONTRACTS`` feeds ``schemas_admin.codegen.contracts.plan`` directly (no database), so that
the generated code is compiled once per test session; ``publish_all`` stores the same versions
in the database for the tests that go through the collector and the matcher.
"""

import datetime as dt
import uuid
from decimal import Decimal

from schemas_admin.models import EventContract
from tests.matcher_helpers import make_contract


def field(name: str, kind, **extra) -> dict:
    return {"name": name, "type": kind, "doc": f"The {name.replace('_', ' ')}.", **extra}


def record(name: str, *fields: dict, doc: str = "") -> dict:
    return {"type": "record", "name": name, "doc": doc, "fields": list(fields)}


DECIMAL = {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}
ITEM = record("Item", field("sku", "string"), field("qty", "int"), doc="A line of the order.")
CHECKOUT_V1 = {
    **record(
        "CheckoutCompleted",
        field("order_id", "string"),
        field("total", "double"),
        field("items", {"type": "array", "items": ITEM}),
        doc="A customer paid for an order.",
    ),
    "namespace": "com.shop.events",
}
CHECKOUT_V2 = {
    **CHECKOUT_V1,
    "fields": [
        *CHECKOUT_V1["fields"],
        field("coupon", ["null", "string"], default=None),
        field("paid_at", {"type": "long", "logicalType": "timestamp-millis"}),
        field(
            "currency",
            {"type": "enum", "name": "Currency", "symbols": ["EUR", "USD", "GBP"]},
            default="EUR",
        ),
        field("amount", DECIMAL),
        field("tags", {"type": "map", "values": "string"}, default={}),
        field("delivered_on", ["null", {"type": "int", "logicalType": "date"}], default=None),
        field("session_id", {"type": "string", "logicalType": "uuid"}),
        field("attachment", ["null", "bytes"], default=None),
        field("measured_at", {"type": "long", "logicalType": "timestamp-micros"}, default=0),
        field(
            "shipping",
            record(
                "Address",
                field("street", "string"),
                field("city", "string"),
                field("zip", ["null", "string"], default=None),
            ),
        ),
        field(
            "gift",
            [
                "null",
                "string",
                "long",
                record(
                    "GiftCard",
                    field("code", "string"),
                    field("value", {**DECIMAL, "precision": 8}),
                ),
            ],
            default=None,
        ),
        field("digest", ["null", {"type": "fixed", "name": "Digest", "size": 4}], default=None),
        field("pickup_time", ["null", {"type": "int", "logicalType": "time-millis"}], default=None),
        field(
            "local_pickup",
            ["null", {"type": "long", "logicalType": "local-timestamp-millis"}],
            default=None,
        ),
        field("priority", "int", default=0),
        field("rating", "float", default=1.5),
        field("express", "boolean", default=False),
        field("metrics", {"type": "map", "values": {"type": "array", "items": "long"}}, default={}),
    ],
}
APP_OPENED_V1 = {
    **record("AppOpened", field("cold_start", "boolean"), doc="The app came to the foreground."),
    "namespace": "com.shop.events",
}
APP_OPENED_V2 = {
    **APP_OPENED_V1,
    "fields": [
        *APP_OPENED_V1["fields"],
        field(
            "source",
            {"type": "enum", "name": "Source", "symbols": ["ICON", "LINK", "PUSH"]},
            default="ICON",
        ),
    ],
}

# Names the languages reserve, a record that contains itself, and defaults of every kind.
CATEGORY = record(
    "Category",
    field("name", "string"),
    field("parent", ["null", "Category"], default=None),
    field("children", {"type": "array", "items": "Category"}, default=[]),
)
CATALOG_VIEWED_V1 = {
    **record(
        "CatalogViewed",
        field("category", CATEGORY),
        field("default", "string", default='say "hi" for $5\n\\(x)'),
        field(
            "class",
            {"type": "enum", "name": "Kind", "symbols": ["default", "in", "PLAIN"]},
            default="in",
        ),
        field(
            "when",
            record("Timestamp", field("at", "long"), field("zone", "string", default="UTC")),
            default={"at": 5},
        ),
        field("price", DECIMAL, default="\u0001\u00c8"),
        field("checksum", {"type": "fixed", "name": "Checksum", "size": 2}, default="\u00ff\u0001"),
        field("variant", ["string", "null", "int"], default="basic"),
        field("seen_on", {"type": "int", "logicalType": "date"}, default=20000),
        field("window", {"type": "int", "logicalType": "time-millis"}, default=3600000),
        field(
            "token",
            {"type": "string", "logicalType": "uuid"},
            default="00000000-0000-4000-8000-000000000000",
        ),
        field("local", {"type": "long", "logicalType": "local-timestamp-micros"}, default=1000000),
        field("lowest", "long", default=-(2**63)),
        field("score", "double", default=-1e-05),
        field("blob", "bytes", default=""),
        doc="Someone looked at a catalog page.",
    ),
    "namespace": "com.shop.events",
}

# (event name, description, [(version, schema, deprecated)])
CONTRACTS = [
    (
        "checkout_completed",
        "A customer paid for an order.",
        [(1, CHECKOUT_V1, False), (2, CHECKOUT_V2, False)],
    ),
    (
        "app_opened",
        "The app came to the foreground.",
        [(1, APP_OPENED_V1, True), (2, APP_OPENED_V2, False)],
    ),
    ("catalog_viewed", "Someone looked at a catalog page.", [(1, CATALOG_VIEWED_V1, False)]),
]


def publish_all() -> list[EventContract]:
    """``CONTRACTS`` in the database, published (and deprecated) as listed."""
    contracts = []
    for name, description, versions in CONTRACTS:
        contract = make_contract(
            name,
            *[schema for _, schema, _ in versions],
            statuses=tuple("deprecated" if old else "published" for _, _, old in versions),
        )
        contract.description = description
        contract.save(update_fields=["description"])
        contracts.append(contract)
    return contracts


# What the matcher must produce for the events the test clients (tests/codegen/) send, in the
# order they send them: (event name, contract version, the Avro datum fastavro reads back).
UTC = dt.UTC
EXPECTED = [
    (
        "checkout_completed",
        2,
        {
            "order_id": "A-1",
            "total": 42.5,
            "items": [{"sku": "x", "qty": 2}, {"sku": 'y"é\n', "qty": 1}],
            "coupon": "WELCOME",
            "paid_at": dt.datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC),
            "currency": "USD",
            "amount": Decimal("1234.50"),
            "tags": {"a": "1", "b": "2"},
            "delivered_on": dt.date(2026, 11, 27),
            "session_id": uuid.UUID("0b7d6f3e-2c4a-4f0e-9d55-3f1c2a9b8e71"),
            "attachment": bytes([0, 1, 2, 255]),
            "measured_at": dt.datetime(2026, 11, 25, 10, 0, 0, 500000, tzinfo=UTC),
            "shipping": {"street": "1 Main St", "city": "Paris", "zip": None},
            "gift": {"code": "G-1", "value": Decimal("25.00")},
            "digest": bytes([1, 2, 3, 4]),
            "pickup_time": dt.time(10, 30),
            "local_pickup": dt.datetime(2026, 11, 27, 10, 30),
            "priority": 3,
            "rating": 4.5,
            "express": True,
            "metrics": {"clicks": [1, 2, 3]},
        },
    ),
    (
        "checkout_completed",
        2,
        {
            "order_id": "A-2",
            "total": 0.0,
            "items": [],
            "coupon": None,
            "paid_at": dt.datetime(2026, 11, 25, 11, 0, tzinfo=UTC),
            "currency": "EUR",
            "amount": Decimal("0.05"),
            "tags": {},
            "delivered_on": None,
            "session_id": uuid.UUID("9f3c2a1b-0000-4000-8000-000000000002"),
            "attachment": None,
            "measured_at": dt.datetime(1970, 1, 1, tzinfo=UTC),
            "shipping": {"street": "2 Side St", "city": "Lyon", "zip": "69001"},
            "gift": 7,
            "digest": None,
            "pickup_time": None,
            "local_pickup": None,
            "priority": 0,
            "rating": 1.5,
            "express": False,
            "metrics": {},
        },
    ),
    (
        "checkout_completed",
        1,
        {"order_id": "A-3", "total": 9.99, "items": [{"sku": "z", "qty": 3}]},
    ),
    ("app_opened", 2, {"cold_start": True, "source": "LINK"}),
]
