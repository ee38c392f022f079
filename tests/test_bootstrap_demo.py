"""``make run``'s demo: published contracts, a burst of events sent once, a banner that works."""

import json
import random
import re
from collections import Counter

from django.core.management import call_command
from rest_framework.test import APIClient

from events.demo import burst_events
from events.models import UnmatchedGroup
from schemas_admin.models import ContractVersion, SubjectVersion, Team
from tests.conftest import post_json, read_topic
from tests.matcher_helpers import run_in_process

pytest_plugins = ["tests.matcher_fixtures"]


def test_demo_is_published_sent_once_and_its_banner_event_matches(
    matcher_setup, settings, tmp_path, capsys
):
    settings.VAR_DIR = tmp_path
    call_command("bootstrap_demo")
    call_command("bootstrap_demo")
    output = capsys.readouterr().out

    versions = ContractVersion.objects.select_related("contract").order_by("contract__event_name")
    assert [(v.contract.event_name, v.version, v.status, v.publish_state) for v in versions] == [
        ("app_opened", 1, "published", "done"),
        ("checkout_completed", 1, "published", "done"),
        ("signed_up", 1, "published", "done"),
    ]
    assert all(v.registry_schema_id for v in versions)
    assert SubjectVersion.objects.count() == 3  # in the built-in registry, once
    assert list(Team.objects.get(slug="demo").members.values_list("username", flat=True)) == [
        "admin"
    ]
    sent = len(burst_events(random.Random(7)))
    assert len(read_topic(matcher_setup.raw_topic)) == sent  # not twice
    assert output.count(f"Sent {sent} demo events") == 1
    assert "Dashboard:  http://" in output and "/dashboard/   (login admin / admin)" in output

    key = re.search(r"Demo key:\s+(\S+)", output).group(1)
    body = json.loads(re.search(r"-d '(\{.*\})'", output).group(1))
    posted = post_json(APIClient(), body, HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert posted.status_code == 202, posted.content
    run_in_process(matcher_setup)

    opened = read_topic("demo.app_opened")
    assert posted.json()["events"][0]["event_id"].encode() in {m.key() for m in opened}
    groups = Counter(
        {(g.event_name, g.reason, g.field): g.count for g in UnmatchedGroup.objects.all()}
    )
    assert groups == Counter(
        {
            ("checkout_completed", "invalid_field", "items[].qty"): 25,
            ("checkout_completed", "invalid_field", "total"): 8,
            ("signed_up", "unknown_version", ""): 12,
            ("search_performed", "unknown_event", ""): 30,
        }
    )
