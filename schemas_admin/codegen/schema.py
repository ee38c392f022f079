"""The shared walk: a contract version's Avro schema as a small typed model the generators print.

The model follows the JSON the matcher accepts (``events/matcher/convert.py``), not Avro's own
JSON encoding: a union's value is the bare value of its first fitting branch, logical types are
ISO-8601 text (or numbers for decimals), bytes are base64. Named types get one name per
version, unique within it; defaults are converted to Python values of the field's type, so that
each generator can print them as literals.
"""

import base64
import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .. import avro
from .naming import pascal


class CodegenError(ValueError):
    """A schema this generator cannot turn into code; the message names the place."""


@dataclass(frozen=True)
class Primitive:
    name: str  # null, boolean, int, long, float, double, bytes, string


@dataclass(frozen=True)
class Logical:
    name: str  # date, time-*, timestamp-*, local-timestamp-*, uuid, decimal
    precision: int = 0
    scale: int = 0


@dataclass(frozen=True)
class Array:
    items: "Type"


@dataclass(frozen=True)
class Map:
    values: "Type"


@dataclass(frozen=True)
class Optional:
    """``["null", T]`` or ``[T, "null"]``: T or JSON null."""

    type: "Type"


@dataclass(frozen=True)
class Ref:
    """A named type (record, enum, fixed), by full name; ``VersionModel.named`` has it."""

    full_name: str


@dataclass(frozen=True)
class Union:
    """A union of several non-null branches, named after the field that holds it."""

    name: str
    branches: tuple["Type", ...]
    nullable: bool


Type = Primitive | Logical | Array | Map | Optional | Ref | Union


@dataclass(frozen=True)
class UnionValue:
    """A union's default: the value of branch ``index``."""

    index: int
    value: Any


NO_DEFAULT = object()


@dataclass
class Field:
    name: str
    type: Type
    doc: str
    default: Any = NO_DEFAULT  # a Python value of the field's type (see ``_default``)

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass
class Record:
    full_name: str
    name: str
    doc: str
    fields: list[Field] = field(default_factory=list)
    recursive: bool = False  # part of a cycle of record references


@dataclass
class Enum:
    full_name: str
    name: str
    doc: str
    symbols: list[str]


@dataclass
class Fixed:
    full_name: str
    name: str
    doc: str
    size: int


Named = Record | Enum | Fixed


@dataclass
class VersionModel:
    """One contract version: its root record and every type it defines, in schema order."""

    root: Record
    named: dict[str, Named]  # full name -> type; the root first
    unions: list[Union]

    def nested(self) -> list[Named]:
        """The named types other than the root, in the order the schema defines them."""
        return [t for t in self.named.values() if t is not self.root]


EPOCH_DAY = dt.date(1970, 1, 1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Type names the generated code uses itself (runtime, standard library): a contract's named
# type called so is renamed (Timestamp2), in every language alike.
RESERVED_NAMES = {
    "Any", "Array", "AvroNull", "Base64Bytes", "BigDecimal", "Bool", "Boolean", "ByteArray",
    "Character", "Data", "Date", "Decimal", "DecimalText", "Dictionary", "Double", "Encodable",
    "Encoder", "Error", "Float", "Instant", "Int", "Int32", "Int64", "JSONKey", "JsonValue",
    "JsonWriter", "List", "LocalDate", "LocalDateTime", "LocalTime", "Long", "Map", "Nothing",
    "Optional", "Record", "Sendable", "Set", "String", "Timestamp", "Type", "UUID", "Unit",
}  # fmt: skip
LOGICAL_TYPES = {
    "date",
    "time-millis",
    "time-micros",
    "timestamp-millis",
    "timestamp-micros",
    "local-timestamp-millis",
    "local-timestamp-micros",
    "uuid",
}


def walk(schema: Any, root_name: str) -> VersionModel:
    """The model of a contract version's record ``schema``; the root record is named
    ``root_name`` (a contract names each version's type itself)."""
    try:
        parsed = avro.parse(schema)
    except avro.InvalidSchema as exc:
        raise CodegenError(str(exc)) from exc
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        raise CodegenError("A contract's schema must be a record.")
    return _Walker(root_name).run(parsed)


class _Walker:
    def __init__(self, root_name: str) -> None:
        self.root_name = root_name
        self.named: dict[str, Named] = {}
        self.definitions: dict[str, dict] = {}
        self.unions: list[Union] = []
        self.taken: set[str] = {root_name, *RESERVED_NAMES}

    def run(self, parsed: dict) -> VersionModel:
        self._collect(parsed)
        root = self._record(parsed, self.root_name)
        model = VersionModel(root, self.named, self.unions)
        for name in _recursive(model):
            record = model.named[name]
            assert isinstance(record, Record)
            record.recursive = True
        return model

    def _collect(self, schema: Any) -> None:
        """Remember every named definition, so that a reference before use resolves."""
        if isinstance(schema, list):
            for branch in schema:
                self._collect(branch)
        elif isinstance(schema, dict):
            kind = schema.get("type")
            if kind in ("record", "error", "enum", "fixed"):
                self.definitions.setdefault(schema["name"], schema)
            for child in (schema.get("items"), schema.get("values"), kind):
                self._collect(child)
            for item in schema.get("fields", ()):
                self._collect(item["type"])

    def _unique(self, wanted: str) -> str:
        name, number = wanted, 2
        while name in self.taken:
            name, number = f"{wanted}{number}", number + 1
        self.taken.add(name)
        return name

    def _record(self, schema: dict, name: str) -> Record:
        record = Record(schema["name"], name, _doc(schema))
        self.named[schema["name"]] = record
        for item in schema["fields"]:
            where = f"{record.full_name}.{item['name']}"
            field_type = self.type(item["type"], pascal(item["name"]))
            default = (
                _default(field_type, item["default"], self, where)
                if "default" in item
                else NO_DEFAULT
            )
            record.fields.append(Field(item["name"], field_type, _doc(item), default))
        return record

    def type(self, schema: Any, hint: str) -> Type:
        """The model of ``schema``; ``hint`` names a union found there."""
        if isinstance(schema, list):
            return self._union(schema, hint)
        if isinstance(schema, str):
            if schema in self.definitions:
                return self._named(self.definitions[schema])
            return Primitive(schema)
        logical = schema.get("logicalType")
        if logical in LOGICAL_TYPES:
            return Logical(logical)
        if logical == "decimal" and schema.get("precision") is not None:
            return Logical("decimal", schema["precision"], schema.get("scale", 0))
        kind = schema["type"]
        if kind in ("record", "error", "enum", "fixed"):
            return self._named(schema)
        if kind == "array":
            return Array(self.type(schema["items"], hint))
        if kind == "map":
            return Map(self.type(schema["values"], hint))
        return self.type(kind, hint)

    def _named(self, schema: dict) -> Ref:
        full_name = schema["name"]
        if full_name not in self.named:
            short = pascal(full_name.rpartition(".")[2])
            if schema["type"] == "enum":
                self.named[full_name] = Enum(
                    full_name, self._unique(short), _doc(schema), list(schema["symbols"])
                )
            elif schema["type"] == "fixed":
                self.named[full_name] = Fixed(
                    full_name, self._unique(short), _doc(schema), schema["size"]
                )
            else:
                self._record(schema, self._unique(short))
        return Ref(full_name)

    def _union(self, branches: list, hint: str) -> Type:
        others = [branch for branch in branches if branch != "null"]
        nullable = len(others) < len(branches)
        if not others:
            return Primitive("null")
        if len(others) == 1:
            inner = self.type(others[0], hint)
            return Optional(inner) if nullable else inner
        union = Union(
            self._unique(f"{hint}Union"),
            tuple(self.type(branch, hint) for branch in others),
            nullable,
        )
        self.unions.append(union)
        return union


def _doc(schema: dict) -> str:
    return " ".join(str(schema.get("doc") or "").split())


def _recursive(model: VersionModel) -> set[str]:
    """Full names of the records that can reach themselves through their fields."""

    def refs(kind: Type) -> Iterator[str]:
        if isinstance(kind, Ref):
            yield kind.full_name
        elif isinstance(kind, Array):
            yield from refs(kind.items)
        elif isinstance(kind, Map):
            yield from refs(kind.values)
        elif isinstance(kind, Optional):
            yield from refs(kind.type)
        elif isinstance(kind, Union):
            for branch in kind.branches:
                yield from refs(branch)

    edges = {
        name: {ref for f in t.fields for ref in refs(f.type)}
        for name, t in model.named.items()
        if isinstance(t, Record)
    }
    found = set()
    for start in edges:
        seen, todo = set(), list(edges[start])
        while todo:
            name = todo.pop()
            if name == start:
                found.add(start)
                break
            if name not in seen and name in edges:
                seen.add(name)
                todo.extend(edges[name])
    return found


def _default(kind: Type, value: Any, walker: _Walker, where: str) -> Any:
    """Avro's JSON default ``value`` of a field of type ``kind``, as a Python value: None,
    bool, int, float, str, bytes, Decimal, date, time, datetime (aware for timestamps),
    UUID, list, dict (maps and records), or UnionValue."""
    try:
        return _convert_default(kind, value, walker)
    except (TypeError, ValueError, KeyError, ArithmeticError) as exc:
        raise CodegenError(f"{where}: the default {value!r} does not fit its type.") from exc


def _convert_default(kind: Type, value: Any, walker: _Walker) -> Any:
    if isinstance(kind, Optional):
        return None if value is None else _convert_default(kind.type, value, walker)
    if isinstance(kind, Union):
        if value is None and kind.nullable:
            return None
        # Avro takes a union's default from its first branch.
        return UnionValue(0, _convert_default(kind.branches[0], value, walker))
    if isinstance(kind, Array):
        return [_convert_default(kind.items, item, walker) for item in _typed(value, list)]
    if isinstance(kind, Map):
        return {
            str(key): _convert_default(kind.values, item, walker)
            for key, item in _typed(value, dict).items()
        }
    if isinstance(kind, Ref):
        named = walker.named[kind.full_name]
        if isinstance(named, Enum):
            if value not in named.symbols:
                raise ValueError(value)
            return value
        if isinstance(named, Fixed):
            data = _typed(value, str).encode("latin-1")
            if len(data) != named.size:
                raise ValueError(value)
            return data
        values = _typed(value, dict)
        return {
            item.name: _convert_default(item.type, values[item.name], walker)
            for item in named.fields
            if item.name in values or not item.has_default
        }
    if isinstance(kind, Logical):
        return _logical_default(kind, value)
    return _primitive_default(kind.name, value)


def _primitive_default(name: str, value: Any) -> Any:
    if name == "null":
        if value is not None:
            raise ValueError(value)
        return None
    if name == "boolean":
        return _typed(value, bool)
    if name in ("int", "long"):
        if isinstance(value, bool):
            raise TypeError(value)
        return _typed(value, int)
    if name in ("float", "double"):
        if isinstance(value, bool):
            raise TypeError(value)
        return float(_typed(value, (int, float)))
    if name == "bytes":
        return _typed(value, str).encode("latin-1")
    return _typed(value, str)


def _logical_default(kind: Logical, value: Any) -> Any:
    name = kind.name
    if name == "uuid":
        return uuid.UUID(_typed(value, str))
    if name == "decimal":
        unscaled = int.from_bytes(_typed(value, str).encode("latin-1"), "big", signed=True)
        return Decimal(unscaled).scaleb(-kind.scale)
    number = _typed(value, int)
    if isinstance(value, bool):
        raise TypeError(value)
    if name == "date":
        return EPOCH_DAY + dt.timedelta(days=number)
    micros = number * 1000 if name.endswith("-millis") else number
    if name.startswith("time-"):
        return (dt.datetime.min + dt.timedelta(microseconds=micros)).time()
    moment = EPOCH + dt.timedelta(microseconds=micros)
    return moment.replace(tzinfo=None) if name.startswith("local-") else moment


def _typed(value: Any, kinds: type | tuple[type, ...]) -> Any:
    if not isinstance(value, kinds):
        raise TypeError(value)
    return value


def wire(kind: Type, value: Any, model: VersionModel) -> Any:
    """A converted default as the JSON the generated code sends for it (and the matcher reads):
    bytes in base64, decimals and logical types as ISO-8601 text, a union as its branch."""
    if value is None:
        return None
    if isinstance(kind, Optional):
        return wire(kind.type, value, model)
    if isinstance(kind, Union):
        return wire(kind.branches[value.index], value.value, model)
    if isinstance(kind, Array):
        return [wire(kind.items, item, model) for item in value]
    if isinstance(kind, Map):
        return {key: wire(kind.values, item, model) for key, item in value.items()}
    if isinstance(kind, Ref):
        named = model.named[kind.full_name]
        if isinstance(named, Record):
            types = {item.name: item.type for item in named.fields}
            return {key: wire(types[key], item, model) for key, item in value.items()}
        return wire(Primitive("bytes"), value, model) if isinstance(named, Fixed) else value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value
