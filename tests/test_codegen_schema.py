"""The shared walk over Avro schemas and the naming rules, as small unit tests."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from schemas_admin.codegen.contracts import plan
from schemas_admin.codegen.naming import camel, unique_names
from schemas_admin.codegen.schema import (
    NO_DEFAULT,
    CodegenError,
    Logical,
    Optional,
    Ref,
    Union,
    UnionValue,
    walk,
    wire,
)
from tests.codegen_contracts import CATALOG_VIEWED_V1, CHECKOUT_V2


@pytest.mark.parametrize(
    ("name", "expected"),
    [("order_id", "orderId"), ("URLPath", "urlPath"), ("ID", "id"), ("_x", "x"), ("a", "a")],
)
def test_camel_case(name, expected):
    assert camel(name) == expected


def test_unique_names_keep_the_contract_spelling_when_styles_collide():
    assert unique_names(["order_id", "orderId", "OrderId"], camel) == {
        "order_id": "orderId",
        "orderId": "orderId2",
        "OrderId": "OrderId",
    }


def test_event_names_that_style_alike_get_distinct_type_names():
    schema = {"type": "record", "name": "X", "fields": []}
    first, second = plan([("a.b", "", [(1, schema, False)]), ("a_b", "", [(1, schema, False)])])
    assert (first.type_name, second.type_name) == ("AB", "AB2")
    assert (first.track_name, second.track_name) == ("trackAB", "trackAB2")


def test_walk_models_unions_optionals_and_logical_types():
    model = walk(CHECKOUT_V2, "CheckoutCompletedV2")
    fields = {field.name: field for field in model.root.fields}

    assert fields["coupon"].type == Optional(fields["coupon"].type.type)
    assert fields["amount"].type == Logical("decimal", 10, 2)
    gift = fields["gift"].type
    assert isinstance(gift, Union) and gift.nullable and gift.name == "GiftUnion"
    assert [getattr(b, "name", None) or b.full_name for b in gift.branches] == [
        "string",
        "long",
        "com.shop.events.GiftCard",
    ]
    assert fields["paid_at"].default is NO_DEFAULT
    assert [named.name for named in model.nested()] == [
        "Item",
        "Currency",
        "Address",
        "GiftCard",
        "Digest",
    ]


def test_defaults_become_values_of_their_type():
    model = walk(CATALOG_VIEWED_V1, "CatalogViewedV1")
    defaults = {field.name: field.default for field in model.root.fields}

    assert defaults["price"] == Decimal("4.56")  # bytes 0x01C8 = 456, scale 2
    assert defaults["checksum"] == b"\xff\x01"
    assert defaults["variant"] == UnionValue(0, "basic")
    assert defaults["seen_on"] == dt.date(2024, 10, 4)
    assert defaults["window"] == dt.time(1, 0)
    assert defaults["token"] == uuid.UUID("00000000-0000-4000-8000-000000000000")
    assert defaults["local"] == dt.datetime(1970, 1, 1, 0, 0, 1)
    assert defaults["when"] == {"at": 5}
    types = {field.name: field.type for field in model.root.fields}
    assert wire(types["price"], defaults["price"], model) == "4.56"
    assert wire(types["checksum"], defaults["checksum"], model) == "/wE="


def test_named_types_taken_by_the_generated_code_are_renamed():
    model = walk(CATALOG_VIEWED_V1, "CatalogViewedV1")
    when = next(field for field in model.root.fields if field.name == "when")

    assert isinstance(when.type, Ref)
    assert model.named[when.type.full_name].name == "Timestamp2"


def test_records_that_contain_themselves_are_found():
    model = walk(CATALOG_VIEWED_V1, "CatalogViewedV1")

    recursive = {t.name for t in model.named.values() if getattr(t, "recursive", False)}
    assert recursive == {"Category"}


def test_a_default_that_does_not_fit_is_a_clear_error():
    when = {"name": "when", "type": {"type": "int", "logicalType": "date"}, "default": True}
    schema = {"type": "record", "name": "X", "fields": [when]}

    # Avro's parser takes true for an int (a bool is an int in Python); the walk does not.
    with pytest.raises(CodegenError, match=r"X\.when: the default True does not fit its type"):
        walk(schema, "XV1")
    with pytest.raises(CodegenError, match="not a valid Avro schema"):
        walk({**schema, "fields": [{**when, "default": "x"}]}, "XV1")
