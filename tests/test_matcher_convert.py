"""JSON properties become Avro data that fastavro writes and reads back, or a precise error."""

import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import fastavro
import pytest

from events.matcher.convert import FieldError, compile_schema

SCHEMA = {
    "type": "record",
    "name": "Everything",
    "namespace": "com.shop.events",
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "count", "type": "int"},
        {"name": "big", "type": "long", "default": 7},
        {"name": "ratio", "type": "float"},
        {"name": "flag", "type": "boolean", "default": False},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
        {
            "name": "address",
            "type": {
                "type": "record",
                "name": "Address",
                "fields": [
                    {"name": "city", "type": "string"},
                    {"name": "zip", "type": ["null", "string"], "default": None},
                ],
            },
        },
        {"name": "previous", "type": ["null", "Address"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
        {"name": "prices", "type": {"type": "map", "values": "double"}, "default": {}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {
            "name": "day",
            "type": ["null", {"type": "int", "logicalType": "date"}],
            "default": None,
        },
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 8, "scale": 2},
        },
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "choice", "type": ["null", "int", "string"], "default": None},
    ],
}

VALID = {
    "name": "Ada",
    "count": 3,
    "ratio": 0.5,
    "color": "GREEN",
    "address": {"city": "Paris"},
    "previous": {"city": "Lyon", "zip": "69001"},
    "tags": ["a", "b"],
    "prices": {"eur": 9.99, "usd": 11},
    "at": "2026-11-25T10:00:00.123+01:00",
    "day": "2026-11-25",
    "amount": "12.30",
    "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "choice": "x",
}

PARSED = fastavro.parse_schema(SCHEMA)
convert = compile_schema(PARSED)


def roundtrip(properties: dict) -> dict:
    body = io.BytesIO()
    fastavro.schemaless_writer(body, PARSED, convert(properties))
    body.seek(0)
    return fastavro.schemaless_reader(body, PARSED, PARSED)


def error_for(properties: dict) -> FieldError:
    with pytest.raises(FieldError) as caught:
        convert(properties)
    return caught.value


def test_every_kind_of_value_is_written_and_read_back():
    record = roundtrip(VALID)

    assert record == {
        "name": "Ada",
        "count": 3,
        "big": 7,
        "ratio": 0.5,
        "flag": False,
        "note": None,
        "color": "GREEN",
        "address": {"city": "Paris", "zip": None},
        "previous": {"city": "Lyon", "zip": "69001"},
        "tags": ["a", "b"],
        "prices": {"eur": 9.99, "usd": 11.0},
        "at": datetime(2026, 11, 25, 9, 0, 0, 123000, tzinfo=UTC),
        "day": date(2026, 11, 25),
        "amount": Decimal("12.30"),
        "id": uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7"),
        "choice": "x",
    }


def test_native_avro_forms_of_logical_types_are_accepted():
    record = roundtrip({**VALID, "at": 1_700_000_000_000, "day": 20_000, "amount": 5})

    assert record["at"] == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert record["day"] == date(2024, 10, 4)
    assert record["amount"] == Decimal("5.00")


def test_union_picks_the_first_branch_that_fits():
    assert roundtrip({**VALID, "choice": 4})["choice"] == 4
    assert roundtrip({**VALID, "choice": None})["choice"] is None


@pytest.mark.parametrize(
    ("change", "path", "expected", "actual"),
    [
        ({"count": "3"}, "count", "int", "string"),
        ({"count": 2**31}, "count", "int", f"{2**31}, out of range"),
        ({"count": True}, "count", "int", "boolean"),
        ({"color": "BLUE"}, "color", "one of RED, GREEN", "'BLUE'"),
        ({"address": {"city": 5}}, "address.city", "string", "integer"),
        ({"address": "Paris"}, "address", "record com.shop.events.Address", "string"),
        ({"tags": ["a", 1]}, "tags[1]", "string", "integer"),
        ({"prices": {"eur": "cheap"}}, "prices.eur", "double", "string"),
        ({"note": 3}, "note", "null or string", "integer"),
        ({"choice": 1.5}, "choice", "null or int or string", "number"),
        ({"at": "yesterday"}, "at", None, "'yesterday'"),
        ({"at": "2026-11-25T10:00:00"}, "at", None, "'2026-11-25T10:00:00'"),
        ({"day": "25/11/2026"}, "day", None, "'25/11/2026'"),
        ({"amount": "1.234"}, "amount", None, "1.234, more than 2 decimal places"),
        ({"amount": 1234567.0}, "amount", None, "1234567.0, more than 8 digits"),
        ({"id": "not-a-uuid"}, "id", "uuid", "'not-a-uuid'"),
        ({"surprise": 1}, "surprise", "not in the contract", "integer"),
        ({"ratio": 1e39}, "ratio", "float", "1e+39, out of range"),
        ({"prices": {"eur": 10**400}}, "prices.eur", "double", None),
        ({"day": "2026-W48-5"}, "day", None, "'2026-W48-5'"),
        ({"day": "20261127"}, "day", None, "'20261127'"),
        ({"at": "20261125T100000Z"}, "at", None, "'20261125T100000Z'"),
        ({"at": "2026-11-25T10:00+01:00"}, "at", None, "'2026-11-25T10:00+01:00'"),
        ({"at": "2026-11-25T10:00:00+0100"}, "at", None, "'2026-11-25T10:00:00+0100'"),
        ({"previous": {"city": "Lyon", "zip": 1}}, "previous.zip", "null or string", "integer"),
    ],
)
def test_a_bad_value_is_reported_with_its_path_and_types(change, path, expected, actual):
    error = error_for({**VALID, **change})

    assert error.path == path
    if expected is not None:
        assert error.expected == expected
    if actual is not None:
        assert error.actual == actual


def test_an_unknown_property_is_said_to_be_outside_the_contract():
    error = error_for({**VALID, "coupon": "X"})

    assert error.message == (
        "coupon is not in the contract (got string): remove it from the event, or add it to "
        "the contract in a new version"
    )


def test_a_huge_number_is_quoted_short():
    error = error_for({**VALID, "ratio": 10**400})

    assert error.actual.startswith("1000")
    assert error.actual.endswith("... (401 characters), out of range")
    assert len(error.actual) <= 140


def test_a_huge_bad_value_is_quoted_short():
    error = error_for({**VALID, "color": "B" * 400_000})

    assert error.actual == "'" + "B" * 120 + "'... (400000 characters)"
    assert len(error.message) < 300


@pytest.mark.parametrize(
    "text", ["2026-11-25T10:00:00Z", "2026-11-25T10:00:00+01:00", "2026-11-25", "10:00:00"]
)
def test_a_local_timestamp_refuses_an_offset_and_other_forms(text):
    local = compile_schema(
        fastavro.parse_schema({"type": "long", "logicalType": "local-timestamp-millis"})
    )
    assert local("2026-11-25T10:00:00.5") == datetime(2026, 11, 25, 10, 0, 0, 500000)

    with pytest.raises(FieldError):
        local(text)


def test_documented_forms_of_dates_and_times_are_accepted():
    record = roundtrip({**VALID, "at": "2026-11-25 10:00:00.123456789Z", "day": "2026-02-28"})

    assert record["at"] == datetime(2026, 11, 25, 10, 0, 0, 123000, tzinfo=UTC)  # millis
    assert record["day"] == date(2026, 2, 28)


def test_a_missing_required_field_is_reported():
    properties = dict(VALID)
    del properties["name"]

    error = error_for(properties)

    assert (error.path, error.expected, error.actual) == ("name", "string", "missing")


def test_group_path_leaves_out_array_indexes():
    schema = fastavro.parse_schema(
        {
            "type": "record",
            "name": "Cart",
            "fields": [
                {
                    "name": "items",
                    "type": {
                        "type": "array",
                        "items": {
                            "type": "record",
                            "name": "Item",
                            "fields": [{"name": "qty", "type": "int"}],
                        },
                    },
                }
            ],
        }
    )

    with pytest.raises(FieldError) as caught:
        compile_schema(schema)({"items": [{"qty": 1}, {"qty": "2"}]})

    assert caught.value.path == "items[1].qty"
    assert caught.value.group_path == "items[].qty"
    assert caught.value.message == "items[1].qty: expected int, got string"


def test_recursive_records_convert():
    schema = fastavro.parse_schema(
        {
            "type": "record",
            "name": "Node",
            "fields": [
                {"name": "value", "type": "int"},
                {"name": "next", "type": ["null", "Node"], "default": None},
            ],
        }
    )
    node = compile_schema(schema)

    assert node({"value": 1, "next": {"value": 2}}) == {"value": 1, "next": {"value": 2}}
    with pytest.raises(FieldError) as caught:
        node({"value": 1, "next": {"value": "2"}})
    assert caught.value.path == "next.value"


def test_bytes_and_fixed_take_base64():
    schema = fastavro.parse_schema(
        {
            "type": "record",
            "name": "Blob",
            "fields": [
                {"name": "data", "type": "bytes"},
                {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 2}},
            ],
        }
    )
    blob = compile_schema(schema)

    assert blob({"data": "aGk=", "hash": "AAE="}) == {"data": b"hi", "hash": b"\x00\x01"}
    with pytest.raises(FieldError) as caught:
        blob({"data": "aGk=", "hash": "aGk9"})
    assert (caught.value.path, caught.value.actual) == ("hash", "3 bytes")
