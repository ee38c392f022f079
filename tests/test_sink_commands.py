"""The sinks' commands: athena_ddl prints a table per kind and contract; bad settings stop
run_sink and athena_ddl with a message naming the setting."""

import io

import pytest
from django.core.management import CommandError, call_command

from tests.matcher_helpers import CHECKOUT_V1, CHECKOUT_V2, make_contract


def ddl(*args: str) -> str:
    out = io.StringIO()
    call_command("athena_ddl", *args, stdout=out)
    return out.getvalue()


def test_athena_ddl_prints_every_table_with_the_newest_version(db, settings):
    settings.SINK_BUCKET = "lake-bucket"
    settings.SINK_PREFIX = "events"
    make_contract("checkout_completed", CHECKOUT_V1, CHECKOUT_V2)
    make_contract("draft_only", CHECKOUT_V1, statuses=("draft",))
    text = ddl()
    tables = [line.split("`")[1] for line in text.splitlines() if line.startswith("CREATE")]
    assert tables == [
        "raw_events",
        "unmatched_events",
        "checkout_completed_avro",
        "checkout_completed_parquet",
    ]
    assert "LOCATION 's3://lake-bucket/events/parquet/checkout_completed/'" in text
    assert "`paid_at` timestamp" in text  # from version 2, the newest
    only = ddl("--kind", "avro", "--event", "checkout_completed", "--location", "s3://x/y")
    assert only.count("CREATE EXTERNAL TABLE") == 1 and "s3://x/y/avro/" in only


def test_athena_ddl_names_what_it_cannot_do(db, settings):
    with pytest.raises(CommandError, match="No contract with a published version: nope"):
        ddl("--event", "nope")
    settings.SINK_PARTITION_FORMAT = "dt=%Y-%m-%d/minute=%M"
    with pytest.raises(CommandError, match="SINK_PARTITION_FORMAT"):
        ddl()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("SINK_PARTITION_FORMAT", "day=%A"),
        ("SINK_AVRO_CODEC", "zstandard"),
        ("SINK_GZIP_LEVEL", 10),
        ("SINK_COMPRESSION_THREADS", -1),
    ],
)
def test_run_sink_refuses_unusable_settings(settings, setting, value):
    setattr(settings, setting, value)
    with pytest.raises(CommandError, match=setting):
        call_command("run_sink", "raw", "--instance", "test")
