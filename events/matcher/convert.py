"""JSON properties -> Avro datum, checked value by value against a contract's schema.

A schema is compiled once into a tree of small converter functions; converting an event then
costs one call per value. A converter returns the datum fastavro writes, or raises
``FieldError`` naming the value's path and what was expected there. Properties the schema does
not know are an error too: the Avro record would silently lose them.
"""

import base64
import binascii
import math
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from events.storable import storable

Converter = Callable[[Any], Any]

INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)
NUMBER = (int, float)  # a tuple: isinstance() with ``int | float`` is several times slower
FLOAT_MAX = 3.4028234663852886e38  # the largest finite 32-bit float
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The documented forms only: Python's fromisoformat() also takes week dates, basic formats, ...
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIME = r"\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?"
TIME_OF_DAY = re.compile(TIME)
DATE_TIME = re.compile(rf"\d{{4}}-\d{{2}}-\d{{2}}[T ]{TIME}")
OFFSET = re.compile(r"Z|[+-]\d{2}:\d{2}")
QUOTED_CHARACTERS = 120
NOT_IN_CONTRACT = "not in the contract"


def quote(text: str, limit: int) -> str:
    """``text``, storable (no NUL characters) and cut to at most ``limit`` characters with a
    note saying how much was left out."""
    text = storable(text)
    if len(text) <= limit:
        return text
    note = f"... ({len(text)} characters)"
    return text[: max(0, limit - len(note))] + note


def quoted(value: str) -> str:
    """A string value as an error message shows it: in quotes, and not too long."""
    if len(value) <= QUOTED_CHARACTERS:
        return repr(value)
    return f"{value[:QUOTED_CHARACTERS]!r}... ({len(value)} characters)"


class FieldError(Exception):
    """A value does not fit the schema. ``path`` is filled in while the error unwinds."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(expected, actual)
        self.expected = expected
        self.actual = actual
        self._parts: list[str | int] = []

    def within(self, part: str | int) -> "FieldError":
        self._parts.append(part)
        return self

    @property
    def path(self) -> str:
        """Where the value is, such as ``items[2].sku``."""
        return _join(reversed(self._parts), lambda index: f"[{index}]")

    @property
    def group_path(self) -> str:
        """The path without array indexes, so that one bad field makes one unmatched group."""
        return _join(reversed(self._parts), lambda index: "[]")

    @property
    def message(self) -> str:
        where = self.path or "properties"
        if self.expected == NOT_IN_CONTRACT:
            return (
                f"{where} is not in the contract (got {self.actual}): remove it from the "
                "event, or add it to the contract in a new version"
            )
        return f"{where}: expected {self.expected}, got {self.actual}"


def _join(parts, index_text: Callable[[int], str]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += index_text(part)
        else:
            text += f".{part}" if text else part
    return text


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def compile_schema(parsed_schema: dict) -> Converter:
    """A converter for a schema returned by ``fastavro.parse_schema``."""
    return _Compiler(parsed_schema.get("__named_schemas", {})).compile(parsed_schema)


class _Compiler:
    def __init__(self, named: dict[str, Any]) -> None:
        self.named = named
        # Named types compile once; a recursive reference calls the cell's converter later.
        self.cells: dict[str, list[Converter]] = {}

    def compile(self, schema: Any) -> Converter:
        if isinstance(schema, list):
            return self.union(schema)
        if isinstance(schema, str):
            if schema in self.named:
                return self.named_type(schema)
            return PRIMITIVES[schema]
        logical = schema.get("logicalType")
        if logical in LOGICAL:
            compiled = LOGICAL[logical](schema)
            if compiled is not None:
                return compiled
        kind = schema["type"]
        if kind in ("record", "error", "enum", "fixed"):
            return self.named_type(schema["name"], schema)
        if kind == "array":
            return _array(self.compile(schema["items"]))
        if kind == "map":
            return _map(self.compile(schema["values"]))
        return self.compile(kind)

    def named_type(self, name: str, definition: dict | None = None) -> Converter:
        cell = self.cells.get(name)
        if cell is None:
            cell = self.cells[name] = []
            definition = definition or self.named[name]
            kind = definition["type"]
            if kind == "enum":
                cell.append(_enum(definition))
            elif kind == "fixed":
                cell.append(_fixed(definition))
            else:
                cell.append(self.record(definition))
        if cell:
            return cell[0]
        return lambda value: cell[0](value)  # a recursive reference, filled in once compiled

    def record(self, schema: dict) -> Converter:
        fields = [
            (field["name"], self.compile(field["type"]), "default" in field)
            for field in schema["fields"]
        ]
        known = {name for name, _, _ in fields}
        expected = f"record {schema['name']}"

        def convert(value: Any) -> dict:
            if not isinstance(value, dict):
                raise FieldError(expected, json_type(value))
            datum = {}
            for name, converter, has_default in fields:
                if name in value:
                    try:
                        datum[name] = converter(value[name])
                    except FieldError as error:
                        raise error.within(name) from None
                elif not has_default:  # fastavro writes the default of a missing field
                    raise FieldError(_describe(schema, name), "missing").within(name)
            if len(value) > len(datum) and not known.issuperset(value):
                extra = min(set(value) - known)
                raise FieldError(NOT_IN_CONTRACT, json_type(value[extra])).within(extra)
            return datum

        return convert

    def union(self, branches: list) -> Converter:
        nullable = "null" in branches
        others = [branch for branch in branches if branch != "null"]
        converters = [self._union_branch(branch, len(others) > 1) for branch in others]
        expected = _type_name(branches)

        def convert(value: Any) -> Any:
            if value is None:
                if nullable:
                    return None
                raise FieldError(expected, "null")
            if len(converters) == 1:
                try:
                    return converters[0](value)
                except FieldError as error:
                    if error.path:  # deeper inside: that error says more
                        raise
                    raise FieldError(expected, error.actual) from None
            for converter in converters:
                try:
                    return converter(value)
                except FieldError:
                    continue
            raise FieldError(expected, json_type(value))

        return convert

    def _union_branch(self, branch: Any, ambiguous: bool) -> Converter:
        converter = self.compile(branch)
        name = branch if isinstance(branch, str) else branch.get("name")
        if ambiguous and name in self.named and self.named[name]["type"] in ("record", "error"):
            # fastavro's tuple notation says which branch a record belongs to.
            return lambda value: (name, converter(value))
        return converter


def _type_name(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return " or ".join(map(_type_name, schema))
    return schema.get("logicalType") or schema.get("name") or schema["type"]


def _describe(record: dict, field_name: str) -> str:
    field = next(f for f in record["fields"] if f["name"] == field_name)
    return _type_name(field["type"])


def _array(items: Converter) -> Converter:
    def convert(value: Any) -> list:
        if not isinstance(value, list):
            raise FieldError("array", json_type(value))
        datum = []
        for index, item in enumerate(value):
            try:
                datum.append(items(item))
            except FieldError as error:
                raise error.within(index) from None
        return datum

    return convert


def _map(values: Converter) -> Converter:
    def convert(value: Any) -> dict:
        if not isinstance(value, dict):
            raise FieldError("map (object)", json_type(value))
        datum = {}
        for key, item in value.items():
            try:
                datum[key] = values(item)
            except FieldError as error:
                raise error.within(key) from None
        return datum

    return convert


def _enum(schema: dict) -> Converter:
    symbols = frozenset(schema["symbols"])
    expected = f"one of {', '.join(schema['symbols'])}"

    def convert(value: Any) -> str:
        if isinstance(value, str) and value in symbols:
            return value
        actual = quoted(value) if isinstance(value, str) else json_type(value)
        raise FieldError(expected, actual)

    return convert


def _base64(value: Any, expected: str) -> bytes:
    if not isinstance(value, str):
        raise FieldError(expected, json_type(value))
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise FieldError(expected, "string that is not base64") from None


def _fixed(schema: dict) -> Converter:
    size = schema["size"]
    expected = f"{size} bytes (base64)"

    def convert(value: Any) -> bytes:
        datum = _base64(value, expected)
        if len(datum) != size:
            raise FieldError(expected, f"{len(datum)} bytes")
        return datum

    return convert


def _null(value: Any) -> None:
    if value is None:
        return None
    raise FieldError("null", json_type(value))


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise FieldError("boolean", json_type(value))


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise FieldError("string", json_type(value))


def _number(name: str, largest: float) -> Converter:
    def convert(value: Any) -> int | float:
        if isinstance(value, NUMBER) and not isinstance(value, bool):
            try:
                in_range = math.isfinite(value) and abs(value) <= largest
            except OverflowError:  # an integer too large for any float
                in_range = False
            if in_range:
                return value
            raise FieldError(name, f"{quote(str(value), QUOTED_CHARACTERS)}, out of range")
        raise FieldError(name, json_type(value))

    return convert


def _integer(name: str, bounds: tuple[int, int]) -> Converter:
    low, high = bounds

    def convert(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            if low <= value <= high:
                return value
            raise FieldError(name, f"{value}, out of range")
        raise FieldError(name, json_type(value))

    return convert


def _bytes(value: Any) -> bytes:
    return _base64(value, "bytes (base64)")


PRIMITIVES: dict[str, Converter] = {
    "null": _null,
    "boolean": _boolean,
    "int": _integer("int", INT_RANGE),
    "long": _integer("long", LONG_RANGE),
    "float": _number("float", FLOAT_MAX),
    "double": _number("double", math.inf),
    "string": _string,
    "bytes": _bytes,
}


def _parsed(
    expected: str, parse: Callable[[str], Any], native: Converter | None = None
) -> Converter:
    """A logical type sent as an ISO-8601 (or other) string, or as its Avro base type."""

    def convert(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse(value)
            except ValueError:
                raise FieldError(expected, quoted(value)) from None
        if native is not None and not isinstance(value, bool) and isinstance(value, int):
            return native(value)
        raise FieldError(expected, json_type(value))

    return convert


def _datetime(text: str, offset: bool) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SS[.fraction]``, with a UTC offset (``Z``, ``+01:00``) or
    without one, as ``offset`` says."""
    body = DATE_TIME.match(text)
    if body is None:
        raise ValueError(text)
    rest = text[body.end() :]
    if not (OFFSET.fullmatch(rest) if offset else rest == ""):
        raise ValueError(text)
    return datetime.fromisoformat(text)


def _aware_datetime(text: str) -> datetime:
    return _datetime(text, offset=True)


def _naive_datetime(text: str) -> datetime:
    return _datetime(text, offset=False)


def _iso_date(text: str) -> date:
    if not DATE.fullmatch(text):
        raise ValueError(text)
    return date.fromisoformat(text)


def _iso_time(text: str) -> time:
    if not TIME_OF_DAY.fullmatch(text):
        raise ValueError(text)
    return time.fromisoformat(text)


def _timestamp(schema: dict) -> Converter:
    expected = f"{schema['logicalType']} (ISO-8601 date-time with offset, or epoch integer)"
    return _parsed(expected, _aware_datetime, _integer(expected, LONG_RANGE))


def _local_timestamp(schema: dict) -> Converter:
    expected = f"{schema['logicalType']} (ISO-8601 date-time without offset)"
    return _parsed(expected, _naive_datetime, _integer(expected, LONG_RANGE))


def _date(schema: dict) -> Converter:
    expected = "date (ISO-8601 YYYY-MM-DD)"
    return _parsed(expected, _iso_date, _integer(expected, INT_RANGE))


def _time(schema: dict) -> Converter:
    expected = f"{schema['logicalType']} (ISO-8601 time)"
    return _parsed(expected, _iso_time, _integer(expected, LONG_RANGE))


def _canonical_uuid(text: str) -> str:
    if CANONICAL_UUID.fullmatch(text):  # what str(UUID(text)) gives, without building one
        return text
    return str(uuid.UUID(text))


def _uuid(schema: dict) -> Converter:
    return _parsed("uuid", _canonical_uuid)


def _decimal(schema: dict) -> Converter | None:
    precision = schema.get("precision")
    if precision is None:
        return None  # not a valid decimal: Avro says to use the underlying type
    scale = schema.get("scale", 0)
    quantum = Decimal(1).scaleb(-scale)
    # Room for every digit the schema allows (the default context holds 28).
    context = Context(prec=max(28, precision + 2))
    expected = f"decimal({precision},{scale}) as a number or numeric string"

    def convert(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (*NUMBER, str)):
            raise FieldError(expected, json_type(value))
        try:
            number = Decimal(str(value))
            scaled = number.quantize(quantum, context=context)
        except InvalidOperation:
            raise FieldError(expected, quoted(str(value))) from None
        if scaled != number:
            shown = quote(str(value), QUOTED_CHARACTERS)
            raise FieldError(expected, f"{shown}, more than {scale} decimal places")
        if len(scaled.as_tuple().digits) > precision:
            shown = quote(str(value), QUOTED_CHARACTERS)
            raise FieldError(expected, f"{shown}, more than {precision} digits")
        return scaled

    return convert


LOGICAL: dict[str, Callable[[dict], Converter | None]] = {
    "timestamp-millis": _timestamp,
    "timestamp-micros": _timestamp,
    "local-timestamp-millis": _local_timestamp,
    "local-timestamp-micros": _local_timestamp,
    "date": _date,
    "time-millis": _time,
    "time-micros": _time,
    "uuid": _uuid,
    "decimal": _decimal,
}
