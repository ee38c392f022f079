"""Row schemas of the matched sinks: a contract version's fields, then the envelope columns.

From one registry schema (the writer schema of the records' Confluent wire format) come:
the Avro schema of the files (contract fields renamed where they clash with an envelope column,
then the envelope fields), the Arrow schema of Parquet files (logical types kept), the schema
fastavro decodes bodies with for Parquet, and the Hive types of the Athena columns.
"""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fastavro
import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from msgspec.structs import astuple

from . import envelope

logger = logging.getLogger(__name__)

PRIMITIVE_ARROW = {
    "null": pa.null(),
    "boolean": pa.bool_(),
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "bytes": pa.binary(),
    "string": pa.string(),
}
PRIMITIVE_HIVE = {
    "boolean": "boolean",
    "int": "int",
    "long": "bigint",
    "float": "float",
    "double": "double",
    "bytes": "binary",
    "string": "string",
}
TIMESTAMPS = {
    "timestamp-millis": ("ms", "UTC"),
    "timestamp-micros": ("us", "UTC"),
    "local-timestamp-millis": ("ms", None),
    "local-timestamp-micros": ("us", None),
}
# Logical types Parquet keeps as their Avro base type (Athena has no TIME; a UUID is text).
PLAIN_LOGICAL = {"uuid", "time-millis", "time-micros"}


class UnknownSchema(Exception):
    """The registry has no (Avro) schema with this id; the message says which."""


class Types:
    """Avro type -> Arrow and Hive types, resolving the named types of one schema."""

    def __init__(self, named: dict[str, Any]) -> None:
        self.named = named

    def resolve(self, schema: Any) -> Any:
        return self.named[schema] if isinstance(schema, str) and schema in self.named else schema

    def arrow(self, schema: Any) -> pa.DataType:
        schema = self.resolve(schema)
        if isinstance(schema, list):
            branches = [branch for branch in schema if branch != "null"]
            return self.arrow(branches[0]) if len(branches) == 1 else pa.string()
        if isinstance(schema, str):
            return PRIMITIVE_ARROW[schema]
        logical = schema.get("logicalType")
        kind = schema["type"]
        if logical in TIMESTAMPS:
            unit, zone = TIMESTAMPS[logical]
            return pa.timestamp(unit, zone)
        if logical == "date":
            return pa.date32()
        if logical == "decimal":
            precision, scale = schema["precision"], schema.get("scale", 0)
            return (pa.decimal128 if precision <= 38 else pa.decimal256)(precision, scale)
        if kind == "record":
            return pa.struct([pa.field(f["name"], self.arrow(f["type"])) for f in schema["fields"]])
        if kind == "array":
            return pa.list_(self.arrow(schema["items"]))
        if kind == "map":
            return pa.map_(pa.string(), self.arrow(schema["values"]))
        if kind == "enum":
            return pa.string()
        if kind == "fixed":
            return pa.binary(schema["size"])
        return self.arrow(kind)

    def hive(self, schema: Any, parquet: bool) -> str:
        schema = self.resolve(schema)
        if isinstance(schema, list):
            branches = [branch for branch in schema if branch != "null"]
            if len(branches) == 1:
                return self.hive(branches[0], parquet)
            if parquet:
                return "string"
            return f"uniontype<{','.join(self.hive(b, parquet) for b in branches)}>"
        if isinstance(schema, str):
            return PRIMITIVE_HIVE[schema]
        logical = schema.get("logicalType")
        kind = schema["type"]
        if logical in TIMESTAMPS:
            return "timestamp"
        if logical == "date":
            return "date"
        if logical == "decimal":
            return f"decimal({schema['precision']},{schema.get('scale', 0)})"
        if kind == "record":
            fields = ",".join(
                f"{f['name']}:{self.hive(f['type'], parquet)}" for f in schema["fields"]
            )
            return f"struct<{fields}>"
        if kind == "array":
            return f"array<{self.hive(schema['items'], parquet)}>"
        if kind == "map":
            return f"map<string,{self.hive(schema['values'], parquet)}>"
        if kind == "enum":
            return "string"
        if kind == "fixed":
            return "binary"
        return self.hive(kind, parquet)

    def converter(self, schema: Any) -> Callable[[Any], Any] | None:
        """A function fixing a decoded value for Arrow, or None when it needs none: unions of
        several types become JSON text (Parquet has no union type)."""
        schema = self.resolve(schema)
        if isinstance(schema, list):
            branches = [branch for branch in schema if branch != "null"]
            if len(branches) > 1:
                return _json_text
            return self.converter(branches[0]) if branches else None
        if isinstance(schema, str):
            return None
        kind = schema["type"]
        if kind == "record":
            fields = [(f["name"], self.converter(f["type"])) for f in schema["fields"]]
            fields = [(name, convert) for name, convert in fields if convert is not None]
            return _record_converter(fields) if fields else None
        if kind in ("array", "map"):
            inner = self.converter(schema["items" if kind == "array" else "values"])
            if inner is None:
                return None
            if kind == "array":
                return lambda items: None if items is None else [inner(item) for item in items]
            return lambda items: None if items is None else {k: inner(v) for k, v in items.items()}
        return None


def _context_array(contexts: tuple[msgspec.Raw, ...]) -> pa.Array:
    """The context column: each client's context object as JSON text, null when absent."""
    raw = pa.array(map(bytes, contexts), pa.binary(), size=len(contexts))
    absent = pc.or_(pc.equal(raw, b""), pc.equal(raw, b"null"))
    return pc.if_else(absent, pa.scalar(None, pa.string()), raw.cast(pa.string()))


def _json_text(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


def _record_converter(fields: list[tuple[str, Callable]]) -> Callable[[Any], Any]:
    def convert(record: dict | None) -> dict | None:
        if record is None:
            return None
        for name, convert_field in fields:
            record[name] = convert_field(record.get(name))
        return record

    return convert


def _plain(schema: Any) -> Any:
    """``schema`` with the logical types Parquet stores as their base type removed."""
    if isinstance(schema, list):
        return [_plain(branch) for branch in schema]
    if isinstance(schema, dict):
        if schema.get("logicalType") in PLAIN_LOGICAL:
            return _plain({k: v for k, v in schema.items() if k != "logicalType"})
        return {key: _plain(value) for key, value in schema.items()}
    return schema


@dataclass(frozen=True)
class Column:
    name: str
    source: str  # the contract field's name, or the envelope column's
    avro_type: Any
    envelope: bool


class RowSchema:
    """Everything the Avro and Parquet writers and the DDL need for one contract version."""

    def __init__(self, schema_id: int, writer_schema: dict) -> None:
        if not isinstance(writer_schema, dict) or writer_schema.get("type") != "record":
            raise UnknownSchema(f"schema {schema_id} is not an Avro record")
        self.schema_id = schema_id
        self.writer_schema = writer_schema
        named: dict[str, Any] = {}
        self.parsed = fastavro.parse_schema(writer_schema, named_schemas=named, _write_hint=False)
        self.types = Types(named)
        own = [field["name"] for field in writer_schema["fields"]]
        taken = set(own)
        self.renamed = {
            field: column
            for field in own
            if (column := envelope.column_name(field, taken)) != field
        }
        self.columns = [
            Column(self.renamed.get(f["name"], f["name"]), f["name"], f["type"], False)
            for f in self.parsed["fields"]
        ] + [Column(name, name, ["null", kind], True) for name, kind in envelope.COLUMNS]
        contract_fields = [
            {**field, "name": self.renamed.get(field["name"], field["name"])}
            for field in writer_schema["fields"]
        ]
        self.row_schema = {
            **{key: value for key, value in writer_schema.items() if key != "fields"},
            "fields": contract_fields + envelope.avro_fields(),
        }
        self.row_schema_json = json.dumps(self.row_schema, separators=(",", ":"))
        fastavro.parse_schema(self.row_schema, _write_hint=False)  # the file schema is valid
        # Parsed with fastavro's hint, so that decoding does not parse it again for each record.
        self.decode_schema = fastavro.parse_schema(_plain(writer_schema))
        self.arrow_schema = pa.schema(
            [pa.field(c.name, self.types.arrow(c.avro_type)) for c in self.columns]
        )
        own = len(writer_schema["fields"])
        # Decoded bodies keep the contract's field names; the batch takes the column names.
        self.contract_arrow = pa.schema(
            [
                field.with_name(c.source)
                for field, c in zip(self.arrow_schema, self.columns[:own], strict=False)
            ]
        )
        self.envelope_arrow = [(f.name, f.type) for f in list(self.arrow_schema)[own:]]
        converters = [(c.source, self.types.converter(c.avro_type)) for c in self.columns]
        self.convert = _record_converter(
            [(name, convert) for name, convert in converters if convert is not None]
        )

    def record_batch(self, rows: list[tuple[dict, envelope.Envelope]]) -> pa.RecordBatch:
        """Arrow columns of (decoded body, envelope) rows: the contract's by pyarrow's row
        conversion, the envelope's column by column (the envelopes transposed at once)."""
        bodies, found = zip(*rows, strict=True)
        contract = pa.RecordBatch.from_pylist(list(bodies), schema=self.contract_arrow)
        columns = list(zip(*map(astuple, found), strict=True))
        arrays = list(contract.columns)
        for (name, kind), values in zip(self.envelope_arrow, columns, strict=True):
            arrays.append(_context_array(values) if name == "context" else pa.array(values, kind))
        return pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema)

    def hive_columns(self, parquet: bool) -> list[tuple[str, str]]:
        return [(c.name, self.types.hive(c.avro_type, parquet)) for c in self.columns]


class SchemaBook:
    """Row schemas by registry schema id, fetched once per process (ids never change)."""

    def __init__(self, client: SchemaRegistryClient, retry_seconds: float = 60.0) -> None:
        self.client = client
        self.retry_seconds = retry_seconds
        self._rows: dict[int, RowSchema | UnknownSchema] = {}

    def get(self, schema_id: int) -> RowSchema:
        """The row schema, or raise ``UnknownSchema``; registry outages are retried."""
        if schema_id not in self._rows:
            self._rows[schema_id] = self._fetch(schema_id)
        found = self._rows[schema_id]
        if isinstance(found, UnknownSchema):
            raise found
        return found

    def _fetch(self, schema_id: int) -> RowSchema | UnknownSchema:
        deadline = time.monotonic() + self.retry_seconds
        while True:
            try:
                schema = self.client.get_schema(schema_id)
                break
            except SchemaRegistryError as exc:
                if exc.http_status_code == 404:
                    return UnknownSchema(f"the registry has no schema with id {schema_id}")
                if exc.http_status_code < 500 or time.monotonic() > deadline:
                    raise
            except Exception:
                if time.monotonic() > deadline:
                    raise
            logger.warning("registry unavailable fetching schema %s; retrying", schema_id)
            time.sleep(1.0)
        if (schema.schema_type or "AVRO") != "AVRO":
            return UnknownSchema(f"schema {schema_id} is {schema.schema_type}, not Avro")
        try:
            return RowSchema(schema_id, json.loads(schema.schema_str))
        except UnknownSchema as exc:
            return exc
        except (ValueError, KeyError, TypeError, fastavro.schema.SchemaParseException) as exc:
            return UnknownSchema(f"schema {schema_id} cannot be used: {exc}")
