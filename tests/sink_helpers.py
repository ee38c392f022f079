"""Helpers of the sinks' tests: records as confluent-kafka hands them over, contract schemas."""

import io
import json
import struct
from datetime import UTC, datetime
from decimal import Decimal

import fastavro
from confluent_kafka.schema_registry import Schema


class Record:
    """A consumed record: what a sink reads of confluent-kafka's ``Message``."""

    def __init__(self, topic, partition, offset, value, headers=None, key=None, millis=0):
        self._topic, self._partition, self._offset = topic, partition, offset
        self._value, self._headers, self._key, self._millis = value, headers, key, millis

    def topic(self):
        return self._topic

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset

    def value(self):
        return self._value

    def key(self):
        return self._key

    def headers(self):
        return self._headers

    def timestamp(self):
        return (1, self._millis)


ORDER = {
    "type": "record",
    "name": "OrderPlaced",
    "namespace": "com.shop.events",
    "doc": "An order was placed.",
    "fields": [
        {"name": "order_id", "type": "string", "doc": "Id."},
        {
            "name": "orderTotal",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
            "doc": "Total.",
        },
        {
            "name": "paid_at",
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "doc": "Paid.",
        },
        {
            "name": "ship_on",
            "type": ["null", {"type": "int", "logicalType": "date"}],
            "default": None,
            "doc": "Date.",
        },
        {"name": "ref", "type": {"type": "string", "logicalType": "uuid"}, "doc": "Ref."},
        {
            "name": "status",
            "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]},
            "doc": "S.",
        },
        {
            "name": "items",
            "doc": "Lines.",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Item",
                    "fields": [{"name": "sku", "type": "string"}, {"name": "qty", "type": "int"}],
                },
            },
        },
        {"name": "tags", "type": {"type": "map", "values": "string"}, "doc": "Tags."},
        {"name": "platform", "type": "string", "doc": "Clashes with the envelope column."},
        {"name": "code", "type": ["null", "int", "string"], "default": None, "doc": "Either."},
    ],
}


def order(index: int) -> dict:
    return {
        "order_id": f"o-{index}",
        "orderTotal": Decimal("12.34") + index,
        "paid_at": datetime(2026, 11, 25, 10, 0, index % 60, 123000, tzinfo=UTC),
        "ship_on": None if index % 2 else datetime(2026, 11, 30).date(),
        "ref": "0b7d6f3e-2c4a-4f0e-9d55-3f1c2a9b8e71",
        "status": "PAID",
        "items": [{"sku": "x", "qty": index}],
        "tags": {"k": "v"},
        "platform": "checkout-web",
        "code": index if index % 3 else "abc",
    }


def wire(schema_id: int, schema: dict, value: dict) -> bytes:
    """Confluent wire format: magic byte 0, the schema id, the Avro body."""
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(schema), value)
    return b"\x00" + struct.pack(">I", schema_id) + body.getvalue()


def envelope_header(index: int, **overrides) -> list[tuple[str, bytes]]:
    value = {
        "event": "order_placed",
        "event_id": f"00000000-0000-4000-8000-{index:012d}",
        "contract_version": 1,
        "timestamp": "2026-11-25T11:00:00.250+01:00",
        "received_at": "2026-11-25T10:00:01.000000+00:00",
        "event_time": "2026-11-25T10:00:00.750000+00:00",
        "client_app": "shop-ios",
        "client_id": "device-1",
        "platform": "ios",
        "app_version": "4.2.0",
        "context": {"app": {"build": "77"}, "userAgent": "Mozilla"},
        **overrides,
    }
    return [("envelope", json.dumps(value).encode())]


class Registry:
    """A schema registry client answering from a dict (unit tests of the file writers)."""

    def __init__(self, schemas: dict[int, dict]) -> None:
        self.schemas = schemas

    def get_schema(self, schema_id: int) -> Schema:
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        if schema_id not in self.schemas:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        return Schema(json.dumps(self.schemas[schema_id]), "AVRO")
