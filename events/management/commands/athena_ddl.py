from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from events.sinks import athena
from events.sinks.layout import LayoutError, partition_columns
from events.sinks.schemas import RowSchema, UnknownSchema
from schemas_admin.lookup import matchable_versions

KINDS = ("raw", "unmatched", "avro", "parquet")


class Command(BaseCommand):
    help = (
        "Print CREATE EXTERNAL TABLE statements (Athena, Glue, Hive) for the sinks' files: "
        "raw_events, unmatched_events and <event>_avro / <event>_parquet per contract, with "
        "partition projection matching SINK_PARTITION_FORMAT."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--location",
            help="where the sinks write: s3://bucket/prefix (default: SINK_BUCKET and "
            "SINK_PREFIX, else the local SINK_ROOT as a file:// URL)",
        )
        parser.add_argument(
            "--kind", action="append", choices=KINDS, help="only these tables (repeatable)"
        )
        parser.add_argument("--event", action="append", help="only these contracts (repeatable)")
        parser.add_argument(
            "--since",
            default="NOW-5YEARS",
            help="first date partition projection offers (a date in the format's pattern, or "
            "NOW-<n>YEARS ...; default NOW-5YEARS)",
        )

    def handle(self, *args, location, kind, event, since, **options) -> None:
        try:
            partition_columns(settings.SINK_PARTITION_FORMAT)
        except LayoutError as exc:
            raise CommandError(str(exc)) from exc
        location = location or default_location()
        kinds = kind or KINDS
        tables = []
        if "raw" in kinds:
            tables.append(athena.raw_table())
        if "unmatched" in kinds:
            tables.append(athena.unmatched_table())
        if {"avro", "parquet"} & set(kinds):
            tables += self.contract_tables(kinds, event)
        for table in tables:
            statement = athena.create_statement(
                table, location, settings.SINK_PARTITION_FORMAT, since
            )
            self.stdout.write(statement + "\n\n")

    def contract_tables(self, kinds, events: list[str] | None) -> list[athena.Table]:
        newest = {}
        for version in matchable_versions():  # newest first per event
            newest.setdefault(version.contract.event_name, version)
        missing = set(events or ()) - newest.keys()
        if missing:
            raise CommandError(
                f"No contract with a published version: {', '.join(sorted(missing))}"
            )
        tables = []
        for name, version in sorted(newest.items()):
            if events and name not in events:
                continue
            try:
                schema = RowSchema(version.registry_schema_id, version.schema)
            except UnknownSchema as exc:
                self.stderr.write(f"{version}: skipped, {exc}")
                continue
            if "avro" in kinds:
                tables.append(athena.avro_table(name, schema))
            if "parquet" in kinds:
                tables.append(athena.parquet_table(name, schema))
        return tables


def default_location() -> str:
    if settings.SINK_BUCKET:
        return f"s3://{settings.SINK_BUCKET}/{settings.SINK_PREFIX}".rstrip("/")
    root = Path(str(settings.SINK_ROOT), settings.SINK_PREFIX)
    return root.resolve().as_uri()
