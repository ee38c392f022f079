"""Avro helpers: the compatibility matrix per mode, contract style rules, examples."""

import pytest

from schemas_admin import avro
from tests.matcher_helpers import CHECKOUT_V1

V1 = {
    "type": "record",
    "name": "E",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "note", "type": "string", "default": ""},
    ],
}
ADD_WITH_DEFAULT = {**V1, "fields": [*V1["fields"], {"name": "n", "type": "int", "default": 0}]}
ADD_WITHOUT_DEFAULT = {**V1, "fields": [*V1["fields"], {"name": "n", "type": "int"}]}
REMOVE_WITH_DEFAULT = {**V1, "fields": [V1["fields"][0]]}
REMOVE_WITHOUT_DEFAULT = {**V1, "fields": [V1["fields"][1]]}
WIDEN_TO_UNION = {
    **V1,
    "fields": [{"name": "id", "type": ["string", "null"]}, V1["fields"][1]],
}
CHANGE_TYPE = {**V1, "fields": [{"name": "id", "type": "int"}, V1["fields"][1]]}

# change -> the modes it is compatible with (non-transitive, against V1 only).
MATRIX = {
    "add field with default": (ADD_WITH_DEFAULT, {"BACKWARD", "FORWARD", "FULL"}),
    "add field without default": (ADD_WITHOUT_DEFAULT, {"FORWARD"}),
    "remove field with default": (REMOVE_WITH_DEFAULT, {"BACKWARD", "FORWARD", "FULL"}),
    "remove field without default": (REMOVE_WITHOUT_DEFAULT, {"BACKWARD"}),
    "widen type to a union": (WIDEN_TO_UNION, {"BACKWARD"}),
    "change a field's type": (CHANGE_TYPE, set()),
}


@pytest.mark.parametrize("mode", ["NONE", "BACKWARD", "FORWARD", "FULL"])
@pytest.mark.parametrize("change", MATRIX)
def test_compatibility_matrix(change: str, mode: str) -> None:
    new, compatible_with = MATRIX[change]
    problems = avro.compatibility_problems(new, [("version 1", V1, ())], mode)
    transitive = avro.compatibility_problems(
        new, [("version 1", V1, ())], f"{mode}_TRANSITIVE" if mode != "NONE" else mode
    )
    expected = mode == "NONE" or mode in compatible_with
    assert (problems == []) is expected, problems
    assert (transitive == []) is expected, transitive


def test_transitive_modes_check_every_earlier_version() -> None:
    # v3 brings "note" back as an int: fine against v2, which has no note, but v1 wrote
    # strings there.
    v2 = REMOVE_WITH_DEFAULT
    v3 = {**v2, "fields": [*v2["fields"], {"name": "note", "type": "int", "default": 0}]}
    earlier = [("version 1", V1, ()), ("version 2", v2, ())]
    assert avro.compatibility_problems(v3, earlier, "BACKWARD") == []
    problems = avro.compatibility_problems(v3, earlier, "BACKWARD_TRANSITIVE")
    assert problems == [
        'this schema cannot read events written with version 1: field "note": reader type: '
        "int not compatible with writer type: string"
    ]


def test_incompatible_reasons_name_the_field() -> None:
    problems = avro.compatibility_problems(ADD_WITHOUT_DEFAULT, [("version 1", V1, ())], "FULL")
    assert problems == [
        'this schema cannot read events written with version 1: field "n" has no default value'
    ]


TAGS = {"name": "tags", "type": {"type": "map", "values": "string"}}
ORDER = {**CHECKOUT_V1, "fields": [*CHECKOUT_V1["fields"], TAGS]}


def retyped(order: dict, qty: str, tags: str) -> dict:
    """``order`` with items[].qty and the values of tags of other types."""
    order_id, total, items, _ = order["fields"]
    item = items["type"]["items"]
    new_item = {**item, "fields": [item["fields"][0], {"name": "qty", "type": qty}]}
    new_items = {"name": "items", "type": {"type": "array", "items": new_item}}
    new_tags = {"name": "tags", "type": {"type": "map", "values": tags}}
    return {**order, "fields": [order_id, total, new_items, new_tags]}


def test_incompatible_nested_fields_are_named_by_their_path() -> None:
    one = avro.compatibility_problems(
        retyped(ORDER, "string", "string"), [("version 1", ORDER, ())], "BACKWARD"
    )
    assert one == [
        'this schema cannot read events written with version 1: field "items[].qty": reader '
        "type: string not compatible with writer type: int"
    ]
    two = avro.compatibility_problems(
        retyped(ORDER, "boolean", "boolean"), [("version 1", ORDER, ())], "BACKWARD"
    )
    assert two == [
        'this schema cannot read events written with version 1: fields "items[].qty", '
        f'"tags{{}}": reader type: boolean not compatible with writer type: {kind}'
        for kind in ("int", "string")
    ]


CONTRACT = {"event_name": "checkout_completed", "namespace": "com.acme.events"}
GOOD = {
    "type": "record",
    "name": "CheckoutCompleted",
    "namespace": "com.acme.events",
    "fields": [{"name": "order_id", "type": "string", "doc": "The order."}],
}


def test_style_accepts_a_documented_record_named_after_the_event() -> None:
    assert avro.style_problems(GOOD, previous=None, mode="BACKWARD", **CONTRACT) == []
    full_name = {**GOOD, "name": "com.acme.events.CheckoutCompleted", "namespace": "other"}
    assert avro.style_problems(full_name, previous=None, mode="BACKWARD", **CONTRACT) == []


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("string", "The schema must be a record"),
        ({**GOOD, "name": "Checkout"}, 'The record must be named "CheckoutCompleted"'),
        ({**GOOD, "namespace": "com.other"}, 'with namespace "com.acme.events"'),
        (
            {**GOOD, "fields": [{"name": "order_id", "type": "string"}]},
            'Field "order_id" needs a "doc"',
        ),
    ],
)
def test_style_problems(schema, message: str) -> None:
    problems = avro.style_problems(schema, previous=None, mode="BACKWARD", **CONTRACT)
    assert any(message in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("mode", "needs_default"),
    [("BACKWARD", True), ("FULL", True), ("FORWARD", False), ("NONE", False)],
)
def test_new_fields_need_defaults_where_the_mode_does(mode: str, needs_default: bool) -> None:
    new_field = {"name": "total", "type": "double", "doc": "Amount."}
    v2 = {**GOOD, "fields": [*GOOD["fields"], new_field]}
    problems = avro.style_problems(v2, previous=GOOD, mode=mode, **CONTRACT)
    assert (
        problems
        == [
            'Field "total" is new, so it needs a "default": events sent before '
            "this version do not have it."
        ]
    ) is needs_default
    assert needs_default or problems == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"type": "record",', "This is not valid JSON"),
        ('{"type": "record", "name": "X"}', "This is not a valid Avro schema"),
        ('{"type": "strin"}', 'This is not a valid Avro schema: there is no type "strin"'),
    ],
)
def test_invalid_schemas_explain_themselves(text: str, message: str) -> None:
    with pytest.raises(avro.InvalidSchema, match=message):
        avro.parse(avro.loads(text))


def test_example_uses_defaults_and_simple_values() -> None:
    schema = {
        "type": "record",
        "name": "E",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "n", "type": ["null", "long"]},
            {"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["A", "B"]}},
            {"name": "tags", "type": {"type": "array", "items": "string"}},
            {"name": "again", "type": "K"},
            {"name": "note", "type": "string", "default": "none"},
        ],
    }
    assert avro.example(schema) == {
        "id": "text",
        "n": 1,
        "kind": "A",
        "tags": ["text"],
        "again": "A",
        "note": "none",
    }


def test_normalized_form_is_independent_of_attribute_order_and_short_names() -> None:
    a = {"type": "record", "name": "E", "namespace": "n", "fields": [{"name": "x", "type": "int"}]}
    b = {"fields": [{"type": "int", "name": "x"}], "name": "n.E", "type": "record"}
    assert avro.normalized(a) == avro.normalized(b)
    assert avro.compact(a) != avro.compact(b)
