"""Avro schema helpers: parsing, contract style rules, compatibility, normal forms, examples.

Parsing uses fastavro; compatibility uses the Apache ``avro`` package's reader/writer checker,
the same rules the Java implementation (and so Confluent's registry) applies.
"""

import base64
import json
import re
import warnings
from collections.abc import Sequence
from functools import partial
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

# Example values in the JSON the matcher accepts (docs/matcher.md): bytes and fixed as base64,
# decimals as numeric strings, dates and times in ISO-8601.
PRIMITIVE_EXAMPLES: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "int": 1,
    "long": 1,
    "float": 1.5,
    "double": 1.5,
    "bytes": base64.b64encode(b"bytes").decode(),
    "string": "text",
}
LOGICAL_EXAMPLES: dict[str, Any] = {
    "timestamp-millis": "2026-11-25T10:00:00.123+00:00",
    "timestamp-micros": "2026-11-25T10:00:00.123456+00:00",
    "local-timestamp-millis": "2026-11-25T10:00:00.123",
    "local-timestamp-micros": "2026-11-25T10:00:00.123456",
    "date": "2026-11-25",
    "time-millis": "10:00:00.123",
    "time-micros": "10:00:00.123456",
    "uuid": "0b7d6f3e-2c4a-4f0e-9d55-3f1c2a9b8e71",
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
    where = nul_character(schema)
    if where is not None:
        raise InvalidSchema(
            f"This schema has a NUL character (\\u0000) in {where}, which the database cannot "
            "store. Remove it."
        )
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


def nul_character(value: Any, path: str = "") -> str | None:
    """Where the first NUL character in a JSON value is (PostgreSQL's text and jsonb refuse
    it), as a path such as ``fields[1].default``; None when there is none."""
    if isinstance(value, str):
        return (path or "the schema") if "\x00" in value else None
    if isinstance(value, list):
        children = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    elif isinstance(value, dict):
        children = []
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if "\x00" in key:
                return f"the name of {child!r}"
            children.append((child, item))
    else:
        return None
    return next(filter(None, (nul_character(item, child) for child, item in children)), None)


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
        with warnings.catch_warnings():
            # The Apache package (1.12) does not know local-timestamp-* and warns on every parse;
            # it reads them as their long type, which is all compatibility needs.
            warnings.simplefilter("ignore", avro.errors.IgnoredLogicalType)
            for referenced in references:
                avro.schema.make_avsc_object(referenced, names)
            return avro.schema.make_avsc_object(schema, names)
    except avro.errors.AvroException as exc:
        raise InvalidSchema(f"This is not a valid Avro schema: {exc}") from exc


def _reasons(reader: avro.schema.Schema, writer: avro.schema.Schema) -> list[str]:
    """Why ``reader`` cannot read what ``writer`` wrote, each reason naming its field(s)."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    # The checker gives a set of messages and a set of locations, not pairs of them.
    paths = sorted({path for path in map(partial(_field_path, reader), result.locations) if path})
    named = ", ".join(f'"{path}"' for path in paths)
    fields = f"field {named}: " if len(paths) == 1 else f"fields {named}: " if paths else ""
    missing_default = SchemaIncompatibilityType.reader_field_missing_default_value
    reasons = []
    for message in sorted(result.messages):
        if missing_default in result.incompatibilities and " " not in message:
            # The message is the name of a new field without a default.
            path = next((p for p in paths if p.rsplit(".", 1)[-1] == message), message)
            reasons.append(f'field "{path}" has no default value')
        else:
            reasons.append(f"{fields}{message}")
    return reasons


def _field_path(schema: avro.schema.Schema, location: str) -> str:
    """The field a checker location ("/fields/2/type/items/fields/0/type") points at in
    ``schema``, written as the matcher writes paths ("items[].sku"); empty for the root."""
    tokens = [token for token in location.split("/") if token]
    path, node, index = "", schema, 0
    while index < len(tokens):
        token = tokens[index]
        if token == "fields" and isinstance(node, avro.schema.RecordSchema):
            field = node.fields[int(tokens[index + 1])]
            path += f".{field.name}" if path else field.name
            node, index = field.type, index + 2
        elif token == "type":
            index += 1
        elif token == "items" and isinstance(node, avro.schema.ArraySchema):
            path, node, index = path + "[]", node.items, index + 1
        elif token == "values" and isinstance(node, avro.schema.MapSchema):
            path, node, index = path + "{}", node.values, index + 1
        elif token.isdigit() and isinstance(node, avro.schema.UnionSchema):
            branches = node.schemas
            node = branches[int(token)] if int(token) < len(branches) else node
            index += 1
        else:  # "name", "symbols", "size": a detail of the type at ``path``
            break
    return path


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
    """A JSON value for ``schema`` that the matcher accepts: defaults where given (unless their
    JSON form is Avro's binary-as-text one), simple values elsewhere."""
    named: dict[str, Any] = {}
    return _example(fastavro.parse_schema(schema, named, _write_hint=False), named, frozenset())


def _example(schema: Any, named: dict[str, Any], open_records: frozenset[str]) -> Any:
    """``open_records``: the records being filled in, which a recursive union must not enter
    again (it takes its null branch instead)."""
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null" and b not in open_records] or schema
        return _example(branches[0], named, open_records)
    if isinstance(schema, str):
        if schema in PRIMITIVE_EXAMPLES:
            return PRIMITIVE_EXAMPLES[schema]
        return _example(named[schema], named, open_records)
    logical = schema.get("logicalType")
    if logical in LOGICAL_EXAMPLES:
        return LOGICAL_EXAMPLES[logical]
    if logical == "decimal" and "precision" in schema:
        return _decimal_example(schema["precision"], schema.get("scale", 0))
    kind = schema["type"]
    if kind == "record":
        inner = open_records | {schema["name"]}
        return {
            field["name"]: field["default"]
            if "default" in field and not _binary(field["type"], named, set())
            else _example(field["type"], named, inner)
            for field in schema["fields"]
        }
    if kind == "enum":
        return schema["symbols"][0]
    if kind == "array":
        return [_example(schema["items"], named, open_records)]
    if kind == "map":
        return {"key": _example(schema["values"], named, open_records)}
    if kind == "fixed":
        return base64.b64encode(bytes(range(1, schema["size"] + 1))).decode()
    return _example(kind, named, open_records)


def _decimal_example(precision: int, scale: int) -> str:
    """A decimal with ``scale`` decimals and at most ``precision`` digits, as a string."""
    if scale == 0:
        return "1"
    return ("1." if precision > scale else "0.") + "5" * scale


def _binary(schema: Any, named: dict[str, Any], seen: set[str]) -> bool:
    """Whether ``schema`` holds bytes or fixed, whose defaults Avro writes as text of code
    points while events carry base64: such defaults cannot be shown as an example."""
    if isinstance(schema, list):
        return any(_binary(branch, named, seen) for branch in schema)
    if isinstance(schema, str):
        if schema in named and schema not in seen:
            seen.add(schema)
            return _binary(named[schema], named, seen)
        return schema == "bytes"
    kind = schema["type"]
    if kind == "record":
        seen.add(schema["name"])
        return any(_binary(field["type"], named, seen) for field in schema["fields"])
    if kind in ("array", "map"):
        return _binary(schema["items" if kind == "array" else "values"], named, seen)
    return kind == "fixed" or _binary(kind, named, seen)
