"""Contracts as code: ``manage.py contracts export|import`` round trip and refusals."""

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from schemas_admin.models import ContractVersion, EventContract, Team
from tests.contracts_fixtures import ORDER_ID, TOTAL, record, wait_for_publish

pytest_plugins = ["tests.contracts_fixtures"]
pytestmark = pytest.mark.django_db(transaction=True)

COUPON = {"name": "coupon", "type": ["null", "string"], "doc": "Code used.", "default": None}


@pytest.fixture
def versions(contract) -> list[ContractVersion]:
    def make(number: int, schema: dict, status: str) -> ContractVersion:
        return ContractVersion.objects.create(
            contract=contract,
            version=number,
            schema=schema,
            status=status,
            changelog=f"Change {number}.",
        )

    return [
        make(1, record(ORDER_ID), "deprecated"),
        make(2, record(ORDER_ID, TOTAL), "published"),
        make(3, record(ORDER_ID, TOTAL, COUPON), "draft"),
    ]


def snapshot() -> list[tuple]:
    return list(
        ContractVersion.objects.order_by("contract__event_name", "version").values_list(
            "contract__event_name",
            "contract__team__slug",
            "contract__compatibility",
            "contract__output_topic",
            "version",
            "schema",
            "status",
            "changelog",
        )
    )


def run(action: str, directory: Path) -> str:
    out = StringIO()
    call_command("contracts", action, str(directory), stdout=out)
    return out.getvalue()


def test_export_writes_avsc_files_and_metadata(tmp_path, contract, versions) -> None:
    run("export", tmp_path)
    folder = tmp_path / contract.event_name
    assert sorted(p.name for p in folder.iterdir()) == [
        "contract.json",
        "v1.avsc",
        "v2.avsc",
        "v3.avsc",
    ]
    assert json.loads((folder / "v3.avsc").read_text()) == versions[2].schema
    meta = json.loads((folder / "contract.json").read_text())
    assert meta["team"] == {"slug": "checkout", "name": "Checkout"}
    assert meta["versions"][0] == {"version": 1, "status": "deprecated", "changelog": "Change 1."}


def test_round_trip_is_idempotent(tmp_path, registry_url, worker, contract, versions) -> None:
    run("export", tmp_path)
    before = snapshot()
    assert "0 change(s)" in run("import", tmp_path)

    # A fresh database (contracts with published versions cannot be deleted one by one).
    ContractVersion.objects.all().delete()
    EventContract.objects.all().delete()
    Team.objects.all().delete()
    output = run("import", tmp_path)
    assert "checkout_completed v1: published" in output
    assert "checkout_completed v1: deprecated" in output
    assert snapshot() == before
    for version in ContractVersion.objects.exclude(status="draft"):
        assert wait_for_publish(version).publish_state == "done"
    assert "0 change(s)" in run("import", tmp_path)


def test_import_refuses_incompatible_changes_with_a_report(tmp_path, contract, versions) -> None:
    run("export", tmp_path)
    folder = tmp_path / contract.event_name
    # Publish v3 with an incompatible change, and also edit the published v2.
    meta = json.loads((folder / "contract.json").read_text())
    meta["versions"][2]["status"] = "published"
    (folder / "contract.json").write_text(json.dumps(meta))
    retyped = {**TOTAL, "type": "string", "default": ""}
    (folder / "v3.avsc").write_text(json.dumps(record(ORDER_ID, retyped, COUPON)))
    (folder / "v2.avsc").write_text(json.dumps(record(ORDER_ID)))
    before = snapshot()

    with pytest.raises(CommandError) as refused:
        run("import", tmp_path)
    report = str(refused.value)
    assert report.startswith("Import refused; nothing was changed:")
    assert "checkout_completed v2: it is published, so its schema cannot change." in report
    assert (
        "checkout_completed v3: This schema cannot read events written with version 2: "
        'field "total": reader type: string not compatible with writer type: double' in report
    )
    assert snapshot() == before


def test_import_reports_unreadable_files(tmp_path, db) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "contract.json").write_text("{nope")
    with pytest.raises(CommandError, match=re.escape("broken/contract.json: cannot be read")):
        run("import", tmp_path)
