"""An Avro record schema inferred from sample JSON payloads, as a draft a product manager refines.

Every value of every sample is folded into a ``Shape`` (which JSON types came, how often a key
was there, what strings looked like); the shape then becomes Avro: objects are records, arrays
are arrays of the items' shape, fields missing from some samples (or null in some) are optional
(``["null", ...]`` with a ``null`` default), RFC 3339 date-times are ``timestamp-millis`` (or
``local-timestamp-millis`` without an offset), ``YYYY-MM-DD`` strings are ``date`` and UUIDs are
``uuid``. Numbers are ``long`` while every sample is an integer, ``double`` otherwise. Values of
different types become a union.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from .avro import record_name

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$"
)
LOCAL_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
STRING_FORMATS = {
    "timestamp": (TIMESTAMP, {"type": "long", "logicalType": "timestamp-millis"}),
    "local-timestamp": (LOCAL_TIMESTAMP, {"type": "long", "logicalType": "local-timestamp-millis"}),
    "date": (DATE, {"type": "int", "logicalType": "date"}),
    "uuid": (UUID, {"type": "string", "logicalType": "uuid"}),
}
MAX_DEPTH = 32


@dataclass
class Shape:
    """What the values seen at one place of the samples looked like."""

    present: int = 0  # how many times a value (null included) was there
    nulls: int = 0
    kinds: set[str] = field(default_factory=set)  # boolean, integer, number, string, ...
    formats: set[str] | None = None  # string formats every string so far had
    fields: dict[str, "Shape"] = field(default_factory=dict)  # of objects, in first-seen order
    objects: int = 0
    items: "Shape | None" = None

    def add(self, value: Any, depth: int = 0) -> None:
        self.present += 1
        if value is None:
            self.nulls += 1
        elif isinstance(value, bool):
            self.kinds.add("boolean")
        elif isinstance(value, int):
            self.kinds.add("integer")
        elif isinstance(value, float):
            self.kinds.add("number")
        elif isinstance(value, str):
            self.kinds.add("string")
            fits = {name for name, (pattern, _) in STRING_FORMATS.items() if pattern.match(value)}
            self.formats = fits if self.formats is None else self.formats & fits
        elif isinstance(value, dict):
            self.kinds.add("object")
            self.objects += 1
            if depth < MAX_DEPTH:
                for key, item in value.items():
                    self.fields.setdefault(key, Shape()).add(item, depth + 1)
        elif isinstance(value, list):
            self.kinds.add("array")
            self.items = self.items or Shape()
            if depth < MAX_DEPTH:
                for item in value:
                    self.items.add(item, depth + 1)


@dataclass
class Inferred:
    schema: dict
    notes: list[str]  # what the product manager should look at


class _Writer:
    """Turns shapes into Avro, naming nested records uniquely and noting what it left out."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.names: set[str] = set()
        self.notes: list[str] = []

    def record(self, shape: Shape, name: str, path: str) -> dict:
        self.names.add(name)
        return {"type": "record", "name": name, "fields": self.fields(shape, path)}

    def fields(self, shape: Shape, path: str) -> list[dict]:
        fields = []
        for key, child in shape.fields.items():
            where = f"{path}.{key}" if path else key
            if not NAME.match(key):
                self.notes.append(
                    f"“{where}” cannot be an Avro field name (letters, digits and _ only, not "
                    "starting with a digit): it was left out; rename it in the client."
                )
                continue
            optional = child.present < shape.objects or child.nulls > 0
            fields.append(self.field(key, child, where, optional, shape.objects))
        return fields

    def field(self, key: str, shape: Shape, where: str, optional: bool, out_of: int) -> dict:
        avro_type = self.type(shape, key, where)
        doc = f"Describe this field (inferred: present in {shape.present} of {out_of} samples)."
        if not optional:
            return {"name": key, "type": avro_type, "doc": doc}
        return {"name": key, "type": _nullable(avro_type), "default": None, "doc": doc}

    def type(self, shape: Shape, key: str, where: str) -> Any:
        kinds = set(shape.kinds)
        if {"integer", "number"} <= kinds:
            kinds.discard("integer")
        branches = [self.kind(kind, shape, key, where) for kind in _ordered(kinds)]
        if not branches:
            self.notes.append(f"“{where}” was null in every sample: it is typed string for now.")
            return "string"
        if len(branches) > 1:
            self.notes.append(f"“{where}” had values of several types: it is a union.")
        return branches[0] if len(branches) == 1 else branches

    def kind(self, kind: str, shape: Shape, key: str, where: str) -> Any:
        if kind == "boolean":
            return "boolean"
        if kind == "integer":
            return "long"
        if kind == "number":
            return "double"
        if kind == "string":
            for name, (_, avro_type) in STRING_FORMATS.items():
                if shape.formats and name in shape.formats:
                    return dict(avro_type)
            return "string"
        if kind == "object":
            return self.record(shape, self.unique(record_name(key)), where)
        assert shape.items is not None
        if not shape.items.present:
            self.notes.append(f"“{where}” was an empty array in every sample: items are strings.")
            return {"type": "array", "items": "string"}
        items = self.type(shape.items, _singular(key), f"{where}[]")
        return {"type": "array", "items": _nullable(items) if shape.items.nulls else items}

    def unique(self, name: str) -> str:
        name = name if NAME.match(name) else f"Record{name}"
        candidate, n = name, 2
        while candidate in self.names:
            candidate, n = f"{name}{n}", n + 1
        return candidate


def _nullable(avro_type: Any) -> list:
    """``avro_type`` as a union whose first branch is null (so that null can be the default)."""
    return ["null", *(avro_type if isinstance(avro_type, list) else [avro_type])]


def _ordered(kinds: set[str]) -> list[str]:
    order = ["boolean", "integer", "number", "string", "object", "array"]
    return [kind for kind in order if kind in kinds]


def _singular(key: str) -> str:
    return key[:-1] if key.endswith("s") and len(key) > 1 else f"{key}_item"


def shape_of(samples: list[dict]) -> Shape:
    shape = Shape()
    for sample in samples:
        shape.add(sample)
    return shape


def infer(samples: list[dict], *, event_name: str, namespace: str, doc: str = "") -> Inferred:
    """A contract's first version: a record named after the event, from ``samples``'
    properties."""
    writer = _Writer(len(samples))
    name = record_name(event_name)
    writer.names.add(name)
    schema = {
        "type": "record",
        "name": name,
        "namespace": namespace,
        "doc": doc or f"Describe the {event_name} event (inferred from {len(samples)} samples).",
        "fields": writer.fields(shape_of(samples), ""),
    }
    return Inferred(schema, writer.notes)


def extend(schema: dict, samples: list[dict]) -> Inferred:
    """The next version of ``schema``: the fields the samples carry that it lacks, added as
    optional fields (with a null default, so that older events stay readable), also inside
    nested records. Fields whose type differs are left as they are and noted."""
    writer = _Writer(len(samples))
    writer.names |= set(_record_names(schema))
    extended = _extend_record(schema, shape_of(samples), "", writer)
    return Inferred(extended, writer.notes)


def _extend_record(schema: dict, shape: Shape, path: str, writer: _Writer) -> dict:
    known = {f["name"]: f for f in schema.get("fields", [])}
    fields = []
    for existing in schema.get("fields", []):
        child = shape.fields.get(existing["name"])
        record = _record_branch(existing["type"])
        where = f"{path}.{existing['name']}" if path else existing["name"]
        if child is not None and record is not None and "object" in child.kinds:
            extended = _extend_record(record, child, where, writer)
            existing = {**existing, "type": _replace_record(existing["type"], extended)}
        elif child is not None and not child.kinds <= _json_kinds(existing["type"]):
            writer.notes.append(
                f"“{where}”: the samples carry {', '.join(_ordered(child.kinds))} where the "
                "contract has another type. It is left as it is: fix the client, or change the "
                "type by hand (an incompatible change)."
            )
        fields.append(existing)
    added = Shape(fields={k: v for k, v in shape.fields.items() if k not in known})
    added.objects = shape.objects
    for new in writer.fields(added, path):
        if not isinstance(new["type"], list):
            new = {**new, "type": ["null", new["type"]], "default": None}
        fields.append(new)
    return {**schema, "fields": fields}


AVRO_JSON_KINDS = {
    "boolean": {"boolean"},
    "int": {"integer"},
    "long": {"integer"},
    "float": {"integer", "number"},
    "double": {"integer", "number"},
    "string": {"string"},
    "bytes": {"string"},
    "enum": {"string"},
    "fixed": {"string"},
    "record": {"object"},
    "map": {"object"},
    "array": {"array"},
}


def _json_kinds(avro_type: Any) -> set[str]:
    """The JSON types the matcher accepts for ``avro_type`` (roughly: logical types by their
    underlying type, named types by their kind)."""
    if isinstance(avro_type, list):
        return set().union(*(_json_kinds(branch) for branch in avro_type))
    if isinstance(avro_type, dict):
        if avro_type.get("logicalType") in ("timestamp-millis", "timestamp-micros", "date"):
            return {"integer", "string"}
        return _json_kinds(avro_type.get("type"))
    return AVRO_JSON_KINDS.get(avro_type, {"object", "string"})  # a named type: any kind


def _record_branch(avro_type: Any) -> dict | None:
    if isinstance(avro_type, dict) and avro_type.get("type") == "record":
        return avro_type
    if isinstance(avro_type, list):
        return next(
            (b for b in avro_type if isinstance(b, dict) and b.get("type") == "record"), None
        )
    return None


def _replace_record(avro_type: Any, record: dict) -> Any:
    if isinstance(avro_type, list):
        return [record if _record_branch(branch) is not None else branch for branch in avro_type]
    return record


def _record_names(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["name"]] if value.get("type") in ("record", "enum", "fixed") else []
        return own + [name for item in value.values() for name in _record_names(item)]
    if isinstance(value, list):
        return [name for item in value for name in _record_names(item)]
    return []
