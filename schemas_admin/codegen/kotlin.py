"""Kotlin (Android and JVM): a data class per contract version with its nested types, a
``Tracker`` with a typed ``track...`` function per event, and ``Runtime.kt`` (JSON writer,
envelope, batching transport over ``HttpURLConnection``), with no dependency beyond the JDK.

Logical types are ``java.time`` and ``java.math`` types (``Instant``, ``LocalDate``,
``BigDecimal``, ``UUID``); properties are camelCase and written under their contract names.
"""

import datetime as dt
import json
import re
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
    block,
    deprecation,
    field_notes,
    header,
    track_notes,
    tracker_notes,
    version_notes,
)

RUNTIME = (Path(__file__).parent / "runtime" / "Runtime.kt").read_text()
DEFAULT_PACKAGE = "analytics.tracking"
KEYWORDS = {
    "as", "break", "class", "continue", "do", "else", "false", "for", "fun", "if", "in",
    "interface", "is", "null", "object", "package", "return", "super", "this", "throw", "true",
    "try", "typealias", "typeof", "val", "var", "when", "while",
}  # fmt: skip
PACKAGE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
PRIMITIVES = {
    "null": "Nothing?",
    "boolean": "Boolean",
    "int": "Int",
    "long": "Long",
    "float": "Float",
    "double": "Double",
    "string": "String",
    "bytes": "ByteArray",
}
LOGICAL = {
    "date": "LocalDate",
    "time-millis": "LocalTime",
    "time-micros": "LocalTime",
    "timestamp-millis": "Instant",
    "timestamp-micros": "Instant",
    "local-timestamp-millis": "LocalDateTime",
    "local-timestamp-micros": "LocalDateTime",
    "uuid": "UUID",
    "decimal": "BigDecimal",
}
IMPORTS = {
    "LocalDate": "java.time.LocalDate",
    "LocalTime": "java.time.LocalTime",
    "Instant": "java.time.Instant",
    "LocalDateTime": "java.time.LocalDateTime",
    "UUID": "java.util.UUID",
    "BigDecimal": "java.math.BigDecimal",
}


def package_problem(package: str) -> str | None:
    """Why ``package`` is no Kotlin package name, or None."""
    if not PACKAGE.fullmatch(package) or KEYWORDS & set(package.split(".")):
        return f"{package!r} is not a Kotlin package name such as 'com.example.tracking'."
    return None


def identifier(name: str) -> str:
    return f"`{name}`" if name in KEYWORDS else name


def generate(contracts: list[Contract], options: dict[str, str]) -> dict[str, str]:
    package = options.get("package") or DEFAULT_PACKAGE
    problem = package_problem(package)
    if problem:
        raise ValueError(problem)
    preamble = f"package {package}\n\n"
    files = {
        "Runtime.kt": header("//", "the event analytics platform's codegen")
        + "\n"
        + preamble
        + RUNTIME
    }
    for contract in contracts:
        files[f"{contract.type_name}.kt"] = _Contract(contract, preamble).module()
    files["Tracker.kt"] = _tracker(contracts, preamble)
    return files


class _Contract:
    def __init__(self, contract: Contract, preamble: str) -> None:
        self.contract = contract
        self.preamble = preamble
        self.imports: set[str] = set()

    def module(self) -> str:
        contract = self.contract
        body = ""
        for version in contract.versions:
            body += "\n" + _Version(self, version).text()
        alias = [f"The version of `{contract.event_name}` that `{contract.track_name}` sends."]
        deprecated = ""
        if contract.current.deprecated:
            deprecated = _deprecated(deprecation(contract, contract.current))
        body += "\n" + block(alias) + deprecated
        body += f"typealias {contract.type_name} = {contract.current_type}\n"
        imports = "".join(f"import {name}\n" for name in sorted(self.imports))
        return (
            header("//", f'the contract "{contract.event_name}"')
            + "\n"
            + self.preamble
            + (imports + "\n" if imports else "")
            + body.lstrip("\n")
        )


def _deprecated(message: str, indent: str = "") -> str:
    return f"{indent}@Deprecated({_string(message)})\n"


class _Version:
    """One version: its root data class, with the other named types and unions nested in it."""

    def __init__(self, module: _Contract, version: Version) -> None:
        self.module = module
        self.version = version
        self.model: VersionModel = version.model

    def text(self) -> str:
        contract, version, root = self.module.contract, self.version, self.model.root
        deprecated = ""
        if version.deprecated:
            deprecated = _deprecated(deprecation(contract, version))
        members = [self.named(named, "    ") for named in self.model.nested()]
        members += [self.union(union, "    ") for union in self.model.unions]
        return (
            block(version_notes(contract, version, root.doc))
            + deprecated
            + self.record(root, "", members)
        )

    def type(self, kind: Type) -> str:
        if isinstance(kind, Primitive):
            return PRIMITIVES[kind.name]
        if isinstance(kind, Logical):
            name = LOGICAL[kind.name]
            self.module.imports.add(IMPORTS[name])
            return name
        if isinstance(kind, Array):
            return f"List<{self.type(kind.items)}>"
        if isinstance(kind, Map):
            return f"Map<String, {self.type(kind.values)}>"
        if isinstance(kind, Optional):
            return f"{self.type(kind.type)}?"
        if isinstance(kind, Union):
            return f"{kind.name}?" if kind.nullable else kind.name
        return self.model.named[kind.full_name].name

    def write(self, kind: Type, value: str, depth: int, receiver: str = "") -> str:
        """A statement that writes ``value`` of type ``kind`` to the ``JsonWriter``
        ``receiver`` (empty: ``this``, inside a writing lambda)."""
        on = f"{receiver}." if receiver else ""
        item = f"v{depth}"
        if isinstance(kind, Ref) or (isinstance(kind, Union) and not kind.nullable):
            return f"{value}.writeJson({receiver or 'this'})"
        if isinstance(kind, Union):
            return f"{on}optional({value}) {{ {item} -> {item}.writeJson(this) }}"
        if isinstance(kind, Array):
            return f"{on}array({value}) {{ {item} -> {self.write(kind.items, item, depth + 1)} }}"
        if isinstance(kind, Map):
            return f"{on}map({value}) {{ {item} -> {self.write(kind.values, item, depth + 1)} }}"
        if isinstance(kind, Optional):
            inner = self.write(kind.type, item, depth + 1)
            return f"{on}optional({value}) {{ {item} -> {inner} }}"
        if isinstance(kind, Primitive):
            if kind.name == "null":
                return f"{on}nullValue()"
            return f"{on}{'bytes' if kind.name == 'bytes' else 'value'}({value})"
        name = kind.name
        micros = "true" if name.endswith("-micros") else "false"
        if name == "decimal":
            return f"{on}decimal({value}, {kind.precision}, {kind.scale})"
        if name.startswith("timestamp-"):
            return f"{on}timestamp({value}, micros = {micros})"
        if name.startswith("local-timestamp-"):
            return f"{on}localTimestamp({value}, micros = {micros})"
        if name.startswith("time-"):
            return f"{on}time({value}, micros = {micros})"
        return f"{on}{'date' if name == 'date' else 'uuid'}({value})"

    def record(self, record: Record, indent: str, members: list[str]) -> str:
        names = unique_names((f.name for f in record.fields), camel)
        inner = indent + "    "
        parameters = ""
        for field in record.fields:
            parameters += block(field_notes(field, self.model), inner)
            default = f" = {self.literal(field.type, field.default)}" if field.has_default else ""
            name = identifier(names[field.name])
            parameters += f"{inner}val {name}: {self.type(field.type)}{default},\n"
        writes = "".join(
            f"{inner}    "
            + self.write(
                field.type, identifier(names[field.name]), 1, f"json.name({_string(field.name)})"
            )
            + "\n"
            for field in record.fields
        )
        body = (
            f"{inner}override fun writeJson(json: JsonWriter) {{\n"
            f"{inner}    json.beginObject()\n"
            f"{writes}"
            f"{inner}    json.endObject()\n"
            f"{inner}}}\n"
        )
        for member in members:
            body += "\n" + member
        if not record.fields:
            return f"{indent}class {record.name} : JsonValue {{\n{body}{indent}}}\n"
        return (
            f"{indent}data class {record.name}(\n{parameters}{indent}) : JsonValue {{\n"
            f"{body}{indent}}}\n"
        )

    def named(self, named: Record | Enum | Fixed, indent: str) -> str:
        if isinstance(named, Record):
            return block([named.doc], indent) + self.record(named, indent, [])
        inner = indent + "    "
        if isinstance(named, Enum):
            entries = "".join(f"{inner}{identifier(symbol)},\n" for symbol in named.symbols)
            return (
                block([named.doc], indent)
                + f"{indent}enum class {named.name} : JsonValue {{\n{entries}{inner};\n\n"
                + f"{inner}override fun writeJson(json: JsonWriter) {{\n"
                + f"{inner}    json.value(name)\n{inner}}}\n{indent}}}\n"
            )
        return (
            block([named.doc, f"Exactly {named.size} bytes."], indent)
            + f"{indent}class {named.name}(val bytes: ByteArray) : JsonValue {{\n"
            + f"{inner}init {{\n"
            + f'{inner}    require(bytes.size == {named.size}) {{ "{named.name} holds exactly '
            + f'{named.size} bytes, not ${{bytes.size}}" }}\n'
            + f"{inner}}}\n\n"
            + f"{inner}override fun writeJson(json: JsonWriter) {{\n"
            + f"{inner}    json.bytes(bytes)\n{inner}}}\n\n"
            + f"{inner}override fun equals(other: Any?): Boolean =\n"
            + f"{inner}    other is {named.name} && bytes.contentEquals(other.bytes)\n\n"
            + f"{inner}override fun hashCode(): Int = bytes.contentHashCode()\n"
            + f"{indent}}}\n"
        )

    def union(self, union: Union, indent: str) -> str:
        inner = indent + "    "
        text = block(
            [f"One of: {', '.join(self.type(branch) for branch in union.branches)}."], indent
        )
        text += f"{indent}sealed interface {union.name} : JsonValue {{\n"
        for index, branch in enumerate(union.branches):
            name = self.branch_name(union, index)
            text += (
                ("\n" if index else "")
                + f"{inner}data class {name}(val value: {self.type(branch)}) : {union.name} {{\n"
                + f"{inner}    override fun writeJson(json: JsonWriter) {{\n"
                + f"{inner}        {self.write(branch, 'value', 1, 'json')}\n"
                + f"{inner}    }}\n{inner}}}\n"
            )
        return text + f"{indent}}}\n"

    def branch_name(self, union: Union, index: int) -> str:
        kind = union.branches[index]
        simple = re.sub(r"<.*", "", self.type(kind))
        return f"Of{simple}"

    def literal(self, kind: Type, value: Any) -> str:
        """``value`` (a converted default) as a Kotlin expression of type ``kind``."""
        if value is None:
            return "null"
        if isinstance(kind, Optional):
            return self.literal(kind.type, value)
        if isinstance(kind, Union):
            assert isinstance(value, UnionValue)
            branch = kind.branches[value.index]
            name = self.branch_name(kind, value.index)
            return f"{kind.name}.{name}({self.literal(branch, value.value)})"
        if isinstance(kind, Array):
            items = ", ".join(self.literal(kind.items, item) for item in value)
            return f"listOf({items})" if items else "emptyList()"
        if isinstance(kind, Map):
            pairs = ", ".join(
                f"{_string(key)} to {self.literal(kind.values, item)}"
                for key, item in value.items()
            )
            return f"mapOf({pairs})" if pairs else "emptyMap()"
        if isinstance(kind, Ref):
            return self.named_literal(self.model.named[kind.full_name], value)
        if isinstance(kind, Logical):
            self.module.imports.add(IMPORTS[LOGICAL[kind.name]])
            return _logical_literal(kind, value)
        return _primitive_literal(kind.name, value)

    def named_literal(self, named: Record | Enum | Fixed, value: Any) -> str:
        if isinstance(named, Enum):
            return f"{named.name}.{identifier(value)}"
        if isinstance(named, Fixed):
            return f"{named.name}({_bytes(value)})"
        names = unique_names((f.name for f in named.fields), camel)
        arguments = ", ".join(
            f"{identifier(names[f.name])} = {self.literal(f.type, value[f.name])}"
            for f in named.fields
            if f.name in value
        )
        return f"{named.name}({arguments})"


def _primitive_literal(name: str, value: Any) -> str:
    if name == "boolean":
        return "true" if value else "false"
    if name == "int":
        return "Int.MIN_VALUE" if value == -(2**31) else str(value)
    if name == "long":
        return "Long.MIN_VALUE" if value == -(2**63) else f"{value}L"
    if name == "float":
        return f"{value!r}f"
    if name == "double":
        return repr(value)
    if name == "bytes":
        return _bytes(value)
    return _string(value)


def _logical_literal(kind: Logical, value: Any) -> str:
    if isinstance(value, Decimal):
        return f'BigDecimal("{value}")'
    if isinstance(value, uuid.UUID):
        return f'UUID.fromString("{value}")'
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return f'Instant.parse("{value.isoformat().replace("+00:00", "Z")}")'
    return f'{LOGICAL[kind.name]}.parse("{value.isoformat()}")'


def _bytes(value: bytes) -> str:
    return f"byteArrayOf({', '.join(str(b - 256 if b > 127 else b) for b in value)})"


def _string(text: str) -> str:
    """A Kotlin string literal."""
    escaped = json.dumps(text, ensure_ascii=True)[1:-1]
    return '"' + escaped.replace("\\f", "\\u000c").replace("$", "\\$") + '"'


def _tracker(contracts: list[Contract], preamble: str) -> str:
    functions = ""
    for contract in contracts:
        for name, version in contract.track_functions():
            functions += _track(contract, version, name)
    return (
        header("//", "the published event contracts")
        + "\n"
        + preamble
        + "import java.util.UUID\n\n"
        + block(tracker_notes("function", ", `close()` also stops the transport's thread"))
        + "class Tracker(config: TrackerConfig) : TrackerBase(config) {\n"
        + functions.rstrip("\n")
        + "\n}\n"
    )


def _track(contract: Contract, version: Version, name: str) -> str:
    notes = track_notes(contract, version)
    annotations = ""
    if version.deprecated:
        annotations = _deprecated(deprecation(contract, version), "    ")
        annotations += '    @Suppress("DEPRECATION")\n'
    properties = contract.version_type(version)
    return (
        block(notes, "    ")
        + annotations
        + f"    fun {name}(\n"
        + f"        properties: {properties},\n"
        + "        options: TrackOptions = TrackOptions(),\n"
        + f"    ): UUID = track({_string(contract.event_name)}, {version.number}, properties, "
        + "options)\n\n"
    )
