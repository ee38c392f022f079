"""TypeScript (web and Node): an interface per contract version, a ``Tracker`` with a typed
``track...`` method per event, and ``runtime.ts`` (envelope and batching transport).

Properties keep their contract names, so a value serializes with ``JSON.stringify`` as the
matcher reads it: ``Date`` becomes ISO-8601 text with ``Z``; ``Uint8Array`` becomes base64;
dates, times, decimals and UUIDs are typed strings (``IsoDate``, ``DecimalString``, ...).
An object literal with an unknown or mistyped property fails to compile.
"""

import json
from pathlib import Path

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

RUNTIME = (Path(__file__).parent / "runtime" / "runtime.ts").read_text()
PRIMITIVES = {
    "null": "null",
    "boolean": "boolean",
    "int": "number",
    "long": "number",
    "float": "number",
    "double": "number",
    "string": "string",
    "bytes": "Uint8Array",
}
LOGICAL = {
    "date": "IsoDate",
    "time-millis": "IsoTime",
    "time-micros": "IsoTime",
    "timestamp-millis": "Date",
    "timestamp-micros": "Date",
    "local-timestamp-millis": "IsoLocalDateTime",
    "local-timestamp-micros": "IsoLocalDateTime",
    "uuid": "Uuid",
    "decimal": "DecimalString",
}
RUNTIME_TYPES = {"IsoDate", "IsoTime", "IsoLocalDateTime", "Uuid", "DecimalString"}


def generate(contracts: list[Contract], options: dict[str, str]) -> dict[str, str]:
    files = {"runtime.ts": RUNTIME}
    for contract in contracts:
        files[f"{contract.type_name}.ts"] = _contract_module(contract)
    files["tracker.ts"] = _tracker_module(contracts)
    files["index.ts"] = (
        header("//", "the published event contracts")
        + 'export * from "./runtime.js";\n'
        + "".join(f'export * from "./{c.type_name}.js";\n' for c in contracts)
        + 'export { Tracker } from "./tracker.js";\n'
    )
    return files


class _Module:
    """One contract's module: its types, and the runtime types they use."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.imports: set[str] = set()

    def type(self, kind: Type, model: VersionModel) -> str:
        if isinstance(kind, Primitive):
            return PRIMITIVES[kind.name]
        if isinstance(kind, Logical):
            name = LOGICAL[kind.name]
            if name in RUNTIME_TYPES:
                self.imports.add(name)
            return name
        if isinstance(kind, Array):
            items = self.type(kind.items, model)
            return f"Array<{items}>" if " " in items else f"{items}[]"
        if isinstance(kind, Map):
            return f"Record<string, {self.type(kind.values, model)}>"
        if isinstance(kind, Optional):
            return f"{self.type(kind.type, model)} | null"
        if isinstance(kind, Union):
            branches = [self.type(branch, model) for branch in kind.branches]
            return " | ".join([*branches, "null"] if kind.nullable else branches)
        return self.name(model.named[kind.full_name], model)

    def name(self, named: Record | Enum | Fixed, model: VersionModel) -> str:
        return named.name if named is model.root else f"{model.root.name}{named.name}"


def _contract_module(contract: Contract) -> str:
    module = _Module(contract)
    body = ""
    for version in contract.versions:
        body += _version(module, version)
    alias = [f"The version of `{contract.event_name}` that `{contract.track_name}` sends."]
    if contract.current.deprecated:
        alias.append(f"@deprecated {deprecation(contract, contract.current)}")
    body += block(alias)
    body += f"export type {contract.type_name} = {contract.current_type};\n"
    imports = ""
    if module.imports:
        imports = f'import type {{ {", ".join(sorted(module.imports))} }} from "./runtime.js";\n\n'
    return header("//", f'the contract "{contract.event_name}"') + "\n" + imports + body


def _version(module: _Module, version: Version) -> str:
    model = version.model
    contract = module.contract
    deprecated = [f"@deprecated {deprecation(contract, version)}"] if version.deprecated else []
    text = ""
    for named in model.named.values():
        name = module.name(named, model)
        is_root = named is model.root
        notes = version_notes(contract, version, named.doc) if is_root else [named.doc]
        if isinstance(named, Record):
            text += block([*notes, *deprecated])
            text += f"export interface {name} {{\n"
            for field in named.fields:
                text += _field(module, field, model)
            text += "}\n\n"
        elif isinstance(named, Enum):
            text += block([*notes, *deprecated])
            symbols = " | ".join(json.dumps(symbol) for symbol in named.symbols)
            text += f"export type {name} = {symbols};\n\n"
        else:
            text += block([*notes, f"Exactly {named.size} bytes.", *deprecated])
            text += f"export type {name} = Uint8Array;\n\n"
    return text


def _field(module: _Module, field: Field, model: VersionModel) -> str:
    optional = "?" if field.has_default else ""
    comment = block(field_notes(field, model), "  ")
    return f"{comment}  {field.name}{optional}: {module.type(field.type, model)};\n"


def _tracker_module(contracts: list[Contract]) -> str:
    imports = ""
    methods = ""
    for contract in contracts:
        names = [contract.version_type(version) for version in contract.versions]
        imports += f'import type {{ {", ".join(names)} }} from "./{contract.type_name}.js";\n'
        for name, version in contract.track_functions():
            methods += _track(contract, version, name)
    return (
        header("//", "the published event contracts")
        + "\n"
        + 'import { TrackerBase } from "./runtime.js";\n'
        + 'import type { TrackOptions } from "./runtime.js";\n'
        + imports
        + "\n"
        + block(tracker_notes("method"))
        + "export class Tracker extends TrackerBase {\n"
        + methods.rstrip("\n")
        + "\n}\n"
    )


def _track(contract: Contract, version: Version, name: str) -> str:
    notes = track_notes(contract, version)
    if version.deprecated:
        notes.append(f"@deprecated {deprecation(contract, version)}")
    properties = contract.version_type(version)
    return (
        block(notes, "  ")
        + f"  {name}(properties: {properties}, options?: TrackOptions): string {{\n"
        + f"    return this.track({json.dumps(contract.event_name)}, {version.number}, "
        + "properties, options);\n"
        + "  }\n\n"
    )
