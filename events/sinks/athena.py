"""CREATE EXTERNAL TABLE statements for Athena (or any engine reading Hive-style layouts).

One table per sink kind and contract, each with partition projection matching
SINK_PARTITION_FORMAT, so new folders are queryable at once, with no MSCK REPAIR or crawler.

- ``raw_events`` and ``unmatched_events``: gzip JSON Lines through the OpenX JSON SerDe, with
  ``case.insensitive`` off (so camelCase keys inside ``properties`` and ``context`` keep their
  case and cannot collide) and a ``mapping.<column>`` for every key that is not lowercase;
  nested objects are ``string`` columns holding their JSON (query with ``json_extract``).
- ``<event>_avro``: the Avro SerDe with the row schema (newest version) as its literal.
- ``<event>_parquet``: Parquet, columns typed from the same row schema.
"""

import json
import re
from dataclasses import dataclass

from .envelope import COLUMNS as ENVELOPE_COLUMNS
from .layout import DIRECTIVES, partition_columns
from .schemas import RowSchema

UNITS = (("%H", "HOURS"), ("%d", "DAYS"), ("%m", "MONTHS"), ("%Y", "YEARS"))
ENVELOPE_JSON_TYPES = {"contract_version": "int"}

RAW_COLUMNS = [
    *((name, ENVELOPE_JSON_TYPES.get(name, "string")) for name, _ in ENVELOPE_COLUMNS),
    ("properties", "string"),
]
UNMATCHED_COLUMNS = [
    ("reason", "string"),
    ("message", "string"),
    ("event_name", "string"),
    ("event_id", "string"),
    ("contract_version", "int"),
    ("field", "string"),
    ("group_field", "string"),
    ("expected", "string"),
    ("actual", "string"),
    ("source_topic", "string"),
    ("source_partition", "int"),
    ("source_offset", "bigint"),
    ("seen_at", "string"),
    ("event_time", "string"),
    ("timestamp", "string"),
    ("received_at", "string"),
    ("client_app", "string"),
    ("client_id", "string"),
    ("platform", "string"),
    ("app_version", "string"),
    ("raw_event", "string"),
    ("raw_text", "string"),
    ("raw_base64", "string"),
]


@dataclass(frozen=True)
class Table:
    name: str
    folder: str  # under the sinks' location: raw, unmatched, avro/<event>, parquet/<event>
    columns: list[tuple[str, str]]
    storage: str  # the ROW FORMAT / STORED AS part


def table_name(event: str, kind: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", f"{event}_{kind}".lower())


def json_table(name: str, folder: str, columns: list[tuple[str, str]]) -> Table:
    properties = {"case.insensitive": "false"}
    for column, _ in columns:
        if column != column.lower():
            properties[f"mapping.{column.lower()}"] = column
    lowered = [(column.lower(), kind) for column, kind in columns]
    return Table(
        name,
        folder,
        lowered,
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n"
        f"WITH SERDEPROPERTIES ({_pairs(properties)})\n"
        "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'\n"
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'",
    )


def raw_table() -> Table:
    return json_table("raw_events", "raw", RAW_COLUMNS)


def unmatched_table() -> Table:
    return json_table("unmatched_events", "unmatched", UNMATCHED_COLUMNS)


def avro_table(event: str, schema: RowSchema) -> Table:
    literal = json.dumps(_without_docs(schema.row_schema), separators=(",", ":"))
    return Table(
        table_name(event, "avro"),
        f"avro/{event}",
        schema.hive_columns(parquet=False),
        "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.avro.AvroSerDe'\n"
        f"WITH SERDEPROPERTIES ('avro.schema.literal'={_quote(literal)})\n"
        "STORED AS AVRO",
    )


def parquet_table(event: str, schema: RowSchema) -> Table:
    return Table(
        table_name(event, "parquet"),
        f"parquet/{event}",
        schema.hive_columns(parquet=True),
        "STORED AS PARQUET",
    )


def create_statement(table: Table, location: str, partition_format: str, since: str) -> str:
    location = location.rstrip("/")
    partitions = partition_columns(partition_format)
    properties = {"projection.enabled": "true"}
    declared = []
    for name, pattern in partitions:
        declared.append((name, _projection(properties, name, pattern, since)))
    template = "/".join(f"{name}=${{{name}}}" for name, _ in partitions)
    properties["storage.location.template"] = f"{location}/{table.folder}/{template}"
    columns = ",\n".join(f"  `{name}` {kind}" for name, kind in table.columns)
    partitioned = ", ".join(f"`{name}` {kind}" for name, kind in declared)
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{table.name}` (\n{columns}\n)\n"
        f"PARTITIONED BY ({partitioned})\n"
        f"{table.storage}\n"
        f"LOCATION {_quote(f'{location}/{table.folder}/')}\n"
        f"TBLPROPERTIES ({_pairs(properties)});"
    )


def _projection(properties: dict[str, str], name: str, pattern: str, since: str) -> str:
    """Projection properties of one partition column; returns its declared type."""
    if "%Y" in pattern:
        java = pattern
        for directive, equivalent in DIRECTIVES.items():
            java = java.replace(directive, equivalent)
        unit = next(unit for directive, unit in UNITS if directive in pattern)
        properties[f"projection.{name}.type"] = "date"
        properties[f"projection.{name}.format"] = java
        properties[f"projection.{name}.range"] = f"{since},NOW+1DAYS"
        properties[f"projection.{name}.interval"] = "1"
        properties[f"projection.{name}.interval.unit"] = unit
        return "string"
    directive = pattern.strip()
    low, high = {"%m": (1, 12), "%d": (1, 31), "%H": (0, 23)}[directive]
    properties[f"projection.{name}.type"] = "integer"
    properties[f"projection.{name}.range"] = f"{low},{high}"
    properties[f"projection.{name}.digits"] = "2"
    return "int"


def _without_docs(schema: object) -> object:
    if isinstance(schema, dict):
        return {k: _without_docs(v) for k, v in schema.items() if k != "doc"}
    if isinstance(schema, list):
        return [_without_docs(item) for item in schema]
    return schema


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _pairs(properties: dict[str, str]) -> str:
    return ",\n  ".join(f"{_quote(key)}={_quote(value)}" for key, value in properties.items())
