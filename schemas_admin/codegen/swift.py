"""Swift (iOS, macOS): an ``Encodable`` struct per contract version with its nested types, a
``Tracker`` with a typed ``track...`` method per event, and ``Runtime.swift`` (logical-type
encodings, envelope, batching transport over ``URLSession``).

Logical types are Foundation types where one fits (``Date``, ``Decimal``, ``UUID``, ``Data``)
and small runtime types otherwise (``LocalDate``, ``LocalTime``, ``LocalDateTime``). Records
that contain themselves become final classes (a struct cannot). No Swift toolchain installs on
the project's machines: tests compare the output with reviewed golden files and parse it with
tree-sitter's Swift grammar.
"""

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from .contracts import Contract, Version
from .naming import camel, unique_names
from .schema import (
    Array,
    Enum,
    Fixed,
    Logical,
    Map,
    Optional,
    Primitive,
    Record,
    Ref,
    Type,
    Union,
    UnionValue,
    VersionModel,
)
from .text import (
    deprecation,
    field_notes,
    header,
    slashes,
    track_notes,
    tracker_notes,
    version_notes,
)

RUNTIME = (Path(__file__).parent / "runtime" / "Runtime.swift").read_text()
KEYWORDS = {
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import",
    "init", "inout", "internal", "let", "open", "operator", "private", "precedencegroup",
    "protocol", "public", "rethrows", "static", "struct", "subscript", "typealias", "var",
    "break", "case", "catch", "continue", "default", "defer", "do", "else", "fallthrough", "for",
    "guard", "if", "in", "repeat", "return", "throw", "switch", "where", "while", "Any", "as",
    "await", "false", "is", "nil", "self", "Self", "super", "throws", "true", "try", "Type",
    "Protocol",
}  # fmt: skip
PRIMITIVES = {
    "null": "AvroNull",
    "boolean": "Bool",
    "int": "Int32",
    "long": "Int64",
    "float": "Float",
    "double": "Double",
    "string": "String",
    "bytes": "Data",
}
LOGICAL = {
    "date": "LocalDate",
    "time-millis": "LocalTime",
    "time-micros": "LocalTime",
    "timestamp-millis": "Date",
    "timestamp-micros": "Date",
    "local-timestamp-millis": "LocalDateTime",
    "local-timestamp-micros": "LocalDateTime",
    "uuid": "UUID",
    "decimal": "Decimal",
}


def identifier(name: str) -> str:
    return f"`{name}`" if name in KEYWORDS else name


def generate(contracts: list[Contract], options: dict[str, str]) -> dict[str, str]:
    files = {"Runtime.swift": header("//", "the event analytics platform's codegen") + RUNTIME}
    for contract in contracts:
        files[f"{contract.type_name}.swift"] = _module(contract)
    files["Tracker.swift"] = _tracker(contracts)
    return files


def _module(contract: Contract) -> str:
    body = ""
    for version in contract.versions:
        body += "\n" + _Version(contract, version).text()
    body += "\n" + slashes(
        [f"The version of `{contract.event_name}` that `{contract.track_name}` sends."]
    )
    if contract.current.deprecated:
        body += _deprecated(deprecation(contract, contract.current))
    body += f"public typealias {contract.type_name} = {contract.current_type}\n"
    return header("//", f'the contract "{contract.event_name}"') + "\nimport Foundation\n" + body


def _deprecated(message: str, indent: str = "") -> str:
    return f"{indent}@available(*, deprecated, message: {_string(message)})\n"


class _Version:
    def __init__(self, contract: Contract, version: Version) -> None:
        self.contract = contract
        self.version = version
        self.model: VersionModel = version.model

    def text(self) -> str:
        root = self.model.root
        deprecated = ""
        if self.version.deprecated:
            deprecated = _deprecated(deprecation(self.contract, self.version))
        members = [self.named(named, "    ") for named in self.model.nested()]
        members += [self.union(union, "    ") for union in self.model.unions]
        return (
            slashes(version_notes(self.contract, self.version, root.doc))
            + deprecated
            + self.record(root, "", members)
        )

    def type(self, kind: Type) -> str:
        if isinstance(kind, Primitive):
            return PRIMITIVES[kind.name]
        if isinstance(kind, Logical):
            return LOGICAL[kind.name]
        if isinstance(kind, Array):
            return f"[{self.type(kind.items)}]"
        if isinstance(kind, Map):
            return f"[String: {self.type(kind.values)}]"
        if isinstance(kind, Optional):
            return f"{self.type(kind.type)}?"
        if isinstance(kind, Union):
            return f"{kind.name}?" if kind.nullable else kind.name
        return self.model.named[kind.full_name].name

    def encodable(self, kind: Type, value: str) -> str:
        """An ``Encodable`` expression that encodes ``value`` as the matcher reads it."""
        if isinstance(kind, Primitive):
            return f"Base64Bytes({value})" if kind.name == "bytes" else value
        if isinstance(kind, Logical):
            name = kind.name
            if name.startswith("timestamp-"):
                return f"Timestamp({value}, micros: {str(name.endswith('-micros')).lower()})"
            if name == "decimal":
                return f"DecimalText({value}, precision: {kind.precision}, scale: {kind.scale})"
            return f"{value}.uuidString.lowercased()" if name == "uuid" else value
        if isinstance(kind, Array | Optional):
            inner = self.encodable(kind.items if isinstance(kind, Array) else kind.type, "$0")
            return value if inner == "$0" else f"{value}.map {{ {inner} }}"
        if isinstance(kind, Map):
            inner = self.encodable(kind.values, "$0")
            return value if inner == "$0" else f"{value}.mapValues {{ {inner} }}"
        return value

    def record(self, record: Record, indent: str, members: list[str]) -> str:
        names = unique_names((f.name for f in record.fields), camel)
        inner = indent + "    "
        kind = "final class" if record.recursive else "struct"
        binding = "let" if record.recursive else "var"
        text = f"{indent}public {kind} {record.name}: Encodable, Sendable {{\n"
        for field in record.fields:
            text += slashes(field_notes(field, self.model), inner)
            text += f"{inner}public {binding} {identifier(names[field.name])}: "
            text += f"{self.type(field.type)}\n"
        parameters = [
            f"{identifier(names[f.name])}: {self.type(f.type)}"
            + (f" = {self.literal(f.type, f.default)}" if f.has_default else "")
            for f in record.fields
        ]
        signature = f"{inner}public init({', '.join(parameters)}) {{\n"
        if len(signature) > 101:
            listed = ",\n".join(f"{inner}    {parameter}" for parameter in parameters)
            signature = f"{inner}public init(\n{listed}\n{inner}) {{\n"
        text += "\n" + signature
        for field in record.fields:
            text += f"{inner}    self.{names[field.name]} = {identifier(names[field.name])}\n"
        text += f"{inner}}}\n\n"
        text += f"{inner}public func encode(to encoder: Encoder) throws {{\n"
        if record.fields:
            text += f"{inner}    var container = encoder.container(keyedBy: JSONKey.self)\n"
        else:
            text += f"{inner}    _ = encoder.container(keyedBy: JSONKey.self)\n"
        for field in record.fields:
            value = self.encodable(field.type, identifier(names[field.name]))
            text += f"{inner}    try container.encode({value}, forKey: {_string(field.name)})\n"
        text += f"{inner}}}\n"
        for member in members:
            text += "\n" + member
        return text + f"{indent}}}\n"

    def named(self, named: Record | Enum | Fixed, indent: str) -> str:
        inner = indent + "    "
        if isinstance(named, Record):
            return slashes([named.doc], indent) + self.record(named, indent, [])
        if isinstance(named, Enum):
            cases = unique_names(named.symbols, camel)
            return (
                slashes([named.doc], indent)
                + f"{indent}public enum {named.name}: String, Encodable, Sendable, "
                + "CaseIterable {\n"
                + "".join(
                    f"{inner}case {identifier(cases[symbol])} = {_string(symbol)}\n"
                    for symbol in named.symbols
                )
                + f"{indent}}}\n"
            )
        return (
            slashes([named.doc, f"Exactly {named.size} bytes."], indent)
            + f"{indent}public struct {named.name}: Encodable, Hashable, Sendable {{\n"
            + f"{inner}public var bytes: Data\n\n"
            + f"{inner}public init(_ bytes: Data) {{\n{inner}    self.bytes = bytes\n{inner}}}\n\n"
            + f"{inner}public func encode(to encoder: Encoder) throws {{\n"
            + f"{inner}    try Base64Bytes(bytes, size: {named.size}).encode(to: encoder)\n"
            + f"{inner}}}\n{indent}}}\n"
        )

    def union(self, union: Union, indent: str) -> str:
        inner = indent + "    "
        cases = [self.case_name(branch) for branch in union.branches]
        text = slashes(
            [f"One of: {', '.join(self.type(branch) for branch in union.branches)}."], indent
        )
        text += f"{indent}public enum {union.name}: Encodable, Sendable {{\n"
        for case, branch in zip(cases, union.branches, strict=True):
            text += f"{inner}case {identifier(case)}({self.type(branch)})\n"
        text += (
            f"\n{inner}public func encode(to encoder: Encoder) throws {{\n"
            f"{inner}    var container = encoder.singleValueContainer()\n"
            f"{inner}    switch self {{\n"
        )
        for case, branch in zip(cases, union.branches, strict=True):
            text += (
                f"{inner}    case .{case}(let value): "
                f"try container.encode({self.encodable(branch, 'value')})\n"
            )
        return text + f"{inner}    }}\n{inner}}}\n{indent}}}\n"

    def case_name(self, kind: Type) -> str:
        if isinstance(kind, Array):
            return "array"
        if isinstance(kind, Map):
            return "map"
        return camel(self.type(kind))

    def literal(self, kind: Type, value: Any) -> str:
        """``value`` (a converted default) as a Swift expression of type ``kind``."""
        if value is None:
            return "nil"
        if isinstance(kind, Optional):
            return self.literal(kind.type, value)
        if isinstance(kind, Union):
            assert isinstance(value, UnionValue)
            branch = kind.branches[value.index]
            return f".{self.case_name(branch)}({self.literal(branch, value.value)})"
        if isinstance(kind, Array):
            return "[" + ", ".join(self.literal(kind.items, item) for item in value) + "]"
        if isinstance(kind, Map):
            pairs = ", ".join(
                f"{_string(key)}: {self.literal(kind.values, item)}" for key, item in value.items()
            )
            return f"[{pairs}]" if pairs else "[:]"
        if isinstance(kind, Ref):
            return self.named_literal(self.model.named[kind.full_name], value)
        if isinstance(kind, Logical):
            return _logical_literal(value)
        if kind.name == "null":
            return "AvroNull()"
        if kind.name == "boolean":
            return "true" if value else "false"
        if kind.name == "bytes":
            return _data(value)
        if kind.name == "string":
            return _string(value)
        return repr(value)

    def named_literal(self, named: Record | Enum | Fixed, value: Any) -> str:
        if isinstance(named, Enum):
            return f".{identifier(unique_names(named.symbols, camel)[value])}"
        if isinstance(named, Fixed):
            return f"{named.name}({_data(value)})"
        names = unique_names((f.name for f in named.fields), camel)
        arguments = ", ".join(
            f"{names[f.name]}: {self.literal(f.type, value[f.name])}"
            for f in named.fields
            if f.name in value
        )
        return f"{named.name}({arguments})"


def _logical_literal(value: Any) -> str:
    if isinstance(value, Decimal):
        return f'Decimal(string: "{value}")!'
    if isinstance(value, uuid.UUID):
        return f'UUID(uuidString: "{value}")!'
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        seconds = (value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()
        return f"Date(timeIntervalSince1970: {seconds!r})"
    if isinstance(value, dt.datetime):
        return f"LocalDateTime(date: {_date(value.date())}, time: {_time(value.time())})"
    if isinstance(value, dt.date):
        return _date(value)
    return _time(value)


def _date(value: dt.date) -> str:
    return f"LocalDate(year: {value.year}, month: {value.month}, day: {value.day})"


def _time(value: dt.time) -> str:
    return (
        f"LocalTime(hour: {value.hour}, minute: {value.minute}, second: {value.second}, "
        f"nanosecond: {value.microsecond * 1000})"
    )


def _data(value: bytes) -> str:
    return f"Data([{', '.join(f'0x{b:02x}' for b in value)}])"


def _string(text: str) -> str:
    """A Swift string literal."""
    escapes = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
    return (
        '"'
        + "".join(
            escapes.get(char) or (char if char.isprintable() else f"\\u{{{ord(char):x}}}")
            for char in text
        )
        + '"'
    )


def _tracker(contracts: list[Contract]) -> str:
    methods = ""
    for contract in contracts:
        for name, version in contract.track_functions():
            methods += _track(contract, version, name)
    return (
        header("//", "the published event contracts")
        + "\nimport Foundation\n\n"
        + slashes(tracker_notes("method"))
        + "public final class Tracker: TrackerBase, @unchecked Sendable {\n"
        + methods.rstrip("\n")
        + "\n}\n"
    )


def _track(contract: Contract, version: Version, name: str) -> str:
    notes = track_notes(contract, version)
    annotations = "    @discardableResult\n"
    if version.deprecated:
        annotations += _deprecated(deprecation(contract, version), "    ")
    properties = contract.version_type(version)
    return (
        slashes(notes, "    ")
        + annotations
        + f"    public func {name}(\n"
        + f"        _ properties: {properties}, options: TrackOptions = TrackOptions()\n"
        + "    ) throws -> UUID {\n"
        + f"        try track({_string(contract.event_name)}, version: {version.number}, "
        + "properties: properties, options: options)\n"
        + "    }\n\n"
    )
