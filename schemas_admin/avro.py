"""Avro schema helpers: parsing, contract style rules, compatibility, normal forms, examples.

Parsing uses fastavro; compatibility uses the Apache ``avro`` package's reader/writer checker,
the same rules the Java implementation (and so Confluent's registry) applies.
"""

import json
import re
from collections.abc import Sequence
from typing import Any

import avro.errors
import avro.name
import avro.schema
import fastavro
from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
)

from .models import CompatibilityMode

PRIMITIVE_EXAMPLES: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "int": 1,
    "long": 1,
    "float": 1.5,
    "double": 1.5,
    "bytes": "",
    "string": "text",
}
LOGICAL_EXAMPLES: dict[str, Any] = {
    "timestamp-millis": 1764064800000,
    "timestamp-micros": 1764064800000000,
    "date": 20417,
    "uuid": "0b7d6f3e-2c4a-4f0e-9d55-3f1c2a9b8e71",
    "decimal": "",
}


class InvalidSchema(ValueError):
    """The text is not a valid Avro schema; the message says why, in plain words."""


def loads(text: str) -> Any:
    """JSON text -> Python value, with an error message a non-engineer can act on."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSchema(
            f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc


def parse(schema: Any, references: Sequence[Any] = ()) -> dict | list | str:
    """Check ``schema`` with fastavro and the Apache parser (which is stricter about records);
    ``references`` are the schemas it may name, in order. Returns fastavro's parsed form."""
    named: dict[str, Any] = {}
    try:
        for referenced in references:
            fastavro.parse_schema(referenced, named, _write_hint=False)
        parsed = fastavro.parse_schema(schema, named, _write_hint=False)
    except fastavro.schema.UnknownType as exc:
        # fastavro gives the name with the record's namespace, or the {"type": ...} object.
        name = exc.name.get("type") if isinstance(exc.name, dict) else exc.name.rsplit(".")[-1]
        raise InvalidSchema(
            f'This is not a valid Avro schema: there is no type "{name}". Check its '
            "spelling: string, int, long, float, double, boolean, bytes, null, array, map, "
            "or the name of a record, enum or fixed defined before it."
        ) from exc
    except fastavro.schema.SchemaParseException as exc:
        raise InvalidSchema(f"This is not a valid Avro schema: {exc}") from exc
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
        raise InvalidSchema(f"This is not a valid Avro schema ({problem}).") from exc
    _avro_schema(schema, references)
    return parsed


def compact(schema: Any) -> str:
    """The schema as Confluent stores it: compact JSON, attributes in the order given."""
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)


def normalized(schema: Any, references: Sequence[Any] = ()) -> str:
    """A normal form for ``normalize=true``: full names, sorted attributes, compact JSON."""
    return json.dumps(parse(schema, references), separators=(",", ":"), sort_keys=True)


def record_name(event_name: str) -> str:
    """The record name a contract's schema must carry: the event name in PascalCase."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_.\-]+", event_name))


def style_problems(
    schema: Any, *, event_name: str, namespace: str, previous: dict | None, mode: str
) -> list[str]:
    """The contract rules on top of valid Avro: a named record with documented fields, and new
    fields with defaults when older events must stay readable."""
    parse(schema)
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return ['The schema must be a record: {"type": "record", "name": ..., "fields": [...]}.']
    problems = []
    expected = record_name(event_name)
    full_name = str(schema.get("name", ""))
    name, _, prefix = full_name.rpartition(".")[::-1]
    if name != expected or (prefix or schema.get("namespace", "")) != namespace:
        problems.append(
            f'The record must be named "{expected}" with namespace "{namespace}", '
            f'to match the contract (found "{full_name}" with namespace '
            f'"{prefix or schema.get("namespace", "")}").'
        )
    for field in schema["fields"]:
        if not str(field.get("doc", "")).strip():
            problems.append(
                f'Field "{field["name"]}" needs a "doc": one sentence saying what it holds.'
            )
    if previous is not None and mode not in (CompatibilityMode.NONE, *FORWARD_ONLY):
        known = {field["name"] for field in previous.get("fields", [])}
        for field in schema["fields"]:
            if field["name"] not in known and "default" not in field:
                problems.append(
                    f'Field "{field["name"]}" is new, so it needs a "default": events sent '
                    f"before this version do not have it."
                )
    return problems


FORWARD_ONLY = (CompatibilityMode.FORWARD, CompatibilityMode.FORWARD_TRANSITIVE)


def _avro_schema(schema: Any, references: Sequence[Any]) -> avro.schema.Schema:
    names = avro.name.Names()
    try:
        for referenced in references:
            avro.schema.make_avsc_object(referenced, names)
        return avro.schema.make_avsc_object(schema, names)
    except avro.errors.AvroException as exc:
        raise InvalidSchema(f"This is not a valid Avro schema: {exc}") from exc


def _reasons(reader: avro.schema.Schema, writer: avro.schema.Schema) -> list[str]:
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    missing_default = SchemaIncompatibilityType.reader_field_missing_default_value
    where = ", ".join(sorted(result.locations))
    return [
        f'field "{message}" has no default value (at {where})'
        if missing_default in result.incompatibilities and " " not in message
        else f"{message} (at {where})"
        for message in sorted(result.messages)
    ]


def compatibility_problems(
    new: Any,
    earlier: Sequence[tuple[str, Any, Sequence[Any]]],
    mode: str,
    references: Sequence[Any] = (),
) -> list[str]:
    """Why ``new`` breaks ``mode`` against ``earlier`` ((label, schema, its references) triples,
    oldest first); empty when compatible. Non-transitive modes look at the latest one only."""
    if mode == CompatibilityMode.NONE or not earlier:
        return []
    if not mode.endswith("_TRANSITIVE"):
        earlier = earlier[-1:]
    candidate = _avro_schema(new, references)
    problems = []
    for label, old, old_references in earlier:
        previous = _avro_schema(old, old_references)
        if not mode.startswith("FORWARD"):
            problems += [
                f"this schema cannot read events written with {label}: {reason}"
                for reason in _reasons(candidate, previous)
            ]
        if not mode.startswith("BACKWARD"):
            problems += [
                f"{label} cannot read events written with this schema: {reason}"
                for reason in _reasons(previous, candidate)
            ]
    return problems


def example(schema: Any) -> Any:
    """A plausible JSON value for ``schema``: defaults where given, simple values elsewhere."""
    named: dict[str, Any] = {}
    return _example(fastavro.parse_schema(schema, named, _write_hint=False), named)


def _example(schema: Any, named: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        branches = [branch for branch in schema if branch != "null"] or schema
        return _example(branches[0], named)
    if isinstance(schema, str):
        return (
            PRIMITIVE_EXAMPLES[schema]
            if schema in PRIMITIVE_EXAMPLES
            else _example(named[schema], named)
        )
    if "logicalType" in schema and schema["logicalType"] in LOGICAL_EXAMPLES:
        return LOGICAL_EXAMPLES[schema["logicalType"]]
    kind = schema["type"]
    if kind == "record":
        return {
            field["name"]: field["default"]
            if "default" in field
            else _example(field["type"], named)
            for field in schema["fields"]
        }
    if kind == "enum":
        return schema["symbols"][0]
    if kind == "array":
        return [_example(schema["items"], named)]
    if kind == "map":
        return {"key": _example(schema["values"], named)}
    if kind == "fixed":
        return "\u0000" * schema["size"]
    return _example(kind, named)
