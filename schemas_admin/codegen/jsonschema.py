"""JSON Schema (draft 2020-12) for every other language: one schema per contract version of the
event's ``properties``, describing exactly the JSON the matcher accepts (see the conversion
table in ``docs/matcher.md``). Deprecated versions say ``"deprecated": true``.
"""

import json
from typing import Any

from .contracts import Contract, Version
from .schema import (
    Array,
    Enum,
    Field,
    Fixed,
    Logical,
    Map,
    Optional,
    Primitive,
    Record,
    Type,
    Union,
    VersionModel,
    wire,
)
from .text import deprecation

DIALECT = "https://json-schema.org/draft/2020-12/schema"
INTEGERS = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# The forms the matcher reads (events/matcher/convert.py): seconds always, a fraction of up to
# nine digits, an offset (Z or +01:00) on timestamps and none on local ones.
TIME = r"\d{2}:\d{2}:\d{2}(\.\d{1,9})?"
DATE_TIME = rf"\d{{4}}-\d{{2}}-\d{{2}}[T ]{TIME}"
LOGICAL_STRINGS = {
    "date": {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
    "time-millis": {"type": "string", "pattern": f"^{TIME}$"},
    "timestamp-millis": {
        "type": "string",
        "format": "date-time",
        "pattern": rf"^{DATE_TIME}(Z|[+-]\d{{2}}:\d{{2}})$",
    },
    "local-timestamp-millis": {"type": "string", "pattern": f"^{DATE_TIME}$"},
    "uuid": {"type": "string", "format": "uuid"},
}


def generate(contracts: list[Contract], options: dict[str, str]) -> dict[str, str]:
    files = {}
    for contract in contracts:
        for version in contract.versions:
            document = _Version(contract, version).document()
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
            files[f"{contract.event_name}/v{version.number}.schema.json"] = text
    return files


class _Version:
    def __init__(self, contract: Contract, version: Version) -> None:
        self.contract = contract
        self.version = version
        self.model: VersionModel = version.model

    def document(self) -> dict[str, Any]:
        contract, version, root = self.contract, self.version, self.model.root
        document: dict[str, Any] = {
            "$schema": DIALECT,
            "title": f"{contract.event_name} v{version.number}",
            "description": " ".join(
                filter(
                    None,
                    [
                        root.doc or contract.description,
                        f"The `properties` of the event `{contract.event_name}`, version "
                        f'{version.number} of its contract: send `"event": '
                        f'"{contract.event_name}"` and `"contract_version": {version.number}`.',
                    ],
                )
            ),
        }
        if version.deprecated:
            document["deprecated"] = True
            current = f"{contract.event_name} v{contract.current.number}"
            document["$comment"] = deprecation(contract, version, current)
        document |= self.record(root)
        nested = {named.name: self.named(named) for named in self.model.nested()}
        if nested:
            document["$defs"] = nested
        return document

    def record(self, record: Record) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {field.name: self.field(field) for field in record.fields},
            "required": [field.name for field in record.fields if not field.has_default],
            "additionalProperties": False,
        }

    def field(self, field: Field) -> dict[str, Any]:
        schema = self.type(field.type)
        if field.doc:
            schema = {"description": field.doc, **schema}
        if field.has_default:
            schema["default"] = wire(field.type, field.default, self.model)
        return schema

    def named(self, named: Record | Enum | Fixed) -> dict[str, Any]:
        description = {"description": named.doc} if named.doc else {}
        if isinstance(named, Record):
            return description | self.record(named)
        if isinstance(named, Enum):
            return description | {"enum": list(named.symbols)}
        return description | _base64(named.size)

    def type(self, kind: Type) -> dict[str, Any]:
        if isinstance(kind, Primitive):
            return _primitive(kind.name)
        if isinstance(kind, Logical):
            return _logical(kind)
        if isinstance(kind, Array):
            return {"type": "array", "items": self.type(kind.items)}
        if isinstance(kind, Map):
            return {"type": "object", "additionalProperties": self.type(kind.values)}
        if isinstance(kind, Optional):
            return {"anyOf": [self.type(kind.type), {"type": "null"}]}
        if isinstance(kind, Union):
            branches = [self.type(branch) for branch in kind.branches]
            return {"anyOf": [*branches, {"type": "null"}] if kind.nullable else branches}
        return {"$ref": f"#/$defs/{self.model.named[kind.full_name].name}"}


def _primitive(name: str) -> dict[str, Any]:
    if name in INTEGERS:
        low, high = INTEGERS[name]
        return {"type": "integer", "minimum": low, "maximum": high}
    if name in ("float", "double"):
        return {"type": "number"}
    if name == "bytes":
        return _base64(None)
    return {"type": name}


def _base64(size: int | None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "contentEncoding": "base64"}
    if size is not None:
        length = 4 * ((size + 2) // 3)
        schema |= {"minLength": length, "maxLength": length}
    return schema


def _logical(kind: Logical) -> dict[str, Any]:
    if kind.name == "decimal":
        whole, scale = kind.precision - kind.scale, kind.scale
        whole_digits = rf"\d{{1,{whole}}}" if whole else "0"
        fraction = rf"(\.\d{{1,{scale}}})?" if scale else ""
        limit = 10**whole
        return {
            "anyOf": [
                {"type": "string", "pattern": f"^-?{whole_digits}{fraction}$"},
                {"type": "number", "exclusiveMinimum": -limit, "exclusiveMaximum": limit},
            ],
            "$comment": f"decimal({kind.precision}, {scale}): at most {scale} decimal places",
        }
    text = LOGICAL_STRINGS[kind.name.replace("-micros", "-millis")]
    if kind.name == "uuid":
        return dict(text)
    # The matcher also takes the Avro number: epoch milliseconds, microseconds or days.
    bits = "int" if kind.name in ("date", "time-millis") else "long"
    return {"anyOf": [text, _primitive(bits)]}
