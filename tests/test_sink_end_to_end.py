"""The whole flow into the data lake: events posted to the collector, matched by the matcher,
and written by the four sinks, each file read back with an independent reader."""

import io

import avro.datafile
import avro.io
import pyarrow.parquet as pq

from events.sinks.runner import build
from schemas_admin import publishing
from schemas_admin.models import ContractVersion
from tests.conftest import make_event, post_json
from tests.contracts_fixtures import ORDER_ID, TOTAL, record, wait_for_publish
from tests.matcher_helpers import run_in_process
from tests.sink_fixtures import read_lines, run_until

pytest_plugins = ["tests.contracts_fixtures", "tests.matcher_fixtures", "tests.sink_fixtures"]


def test_posted_events_reach_every_sink_with_their_envelope(
    api, matcher_setup, registry_url, worker, pm, contract, sink_settings
):
    version = ContractVersion.objects.create(
        contract=contract, version=1, schema=record(ORDER_ID, TOTAL), author=pm
    )
    publishing.publish(version, pm)
    assert wait_for_publish(version).publish_state == "done", version.publish_error
    good = [
        make_event(
            event=contract.event_name,
            properties={"order_id": f"A-{i}", "total": 1.5 * i},
            user_id=f"user-{i}",
            timestamp="2026-11-25T10:30:00.000+00:00",
            sent_at="2026-11-25T10:30:00.000+00:00",
            context={"locale": "de-DE", "app": {"build": "77"}},
        )
        for i in range(20)
    ]
    bad = make_event(event=contract.event_name, properties={"total": "lots"})
    response = post_json(api, [*good, bad])
    assert response.json()["accepted"] == 21, response.json()
    ids = [event["event_id"] for event in response.json()["events"]]
    run_in_process(matcher_setup)
    root = sink_settings.SINK_ROOT
    event = contract.event_name

    run_until(build("raw"), lambda: len(read_lines(root, "raw/**/*.gz")) >= 21)
    assert sorted(line["event_id"] for line in read_lines(root, "raw/**/*.gz")) == sorted(ids)

    run_until(build("unmatched"), lambda: bool(read_lines(root, "unmatched/**/*.gz")))
    [failed] = read_lines(root, "unmatched/**/*.gz")
    assert (failed["event_id"], failed["reason"], failed["field"]) == (
        ids[-1],
        "invalid_field",
        "order_id",
    )

    def avro_rows():
        return [
            row
            for path in root.glob(f"avro/{event}/**/*.avro")
            for row in avro.datafile.DataFileReader(
                io.BytesIO(path.read_bytes()), avro.io.DatumReader()
            )
        ]

    run_until(build("avro"), lambda: len(avro_rows()) >= 20)
    rows = sorted(avro_rows(), key=lambda row: row["total"])
    assert [row["event_id"] for row in rows] == ids[:20]
    assert rows[3]["order_id"] == "A-3" and rows[3]["user_id"] == "user-3"
    assert rows[3]["contract_version"] == 1 and rows[3]["client_app"] == "shop-ios"
    assert '"locale":"de-DE"' in rows[3]["context"]
    assert rows[3]["event_time"] is not None and rows[3]["received_at"] is not None

    run_until(build("parquet"), lambda: bool(list(root.glob(f"parquet/{event}/**/*.parquet"))))
    table = pq.read_table(next(root.glob(f"parquet/{event}/**/*.parquet")))
    assert sorted(table.column("event_id").to_pylist()) == sorted(ids[:20])
    assert set(table.column("platform").to_pylist()) == {"ios"}
