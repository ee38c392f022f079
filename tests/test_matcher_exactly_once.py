"""Exactly once across crashes and rebalances: real matcher processes, killed and restarted."""

import random
import time

from devservices._process import wait_until
from tests.matcher_helpers import (
    CHECKOUT_V1,
    Flow,
    assert_each_event_once,
    caught_up,
    make_contract,
)

pytest_plugins = ["tests.matcher_fixtures"]


def test_sigkill_while_events_flow_loses_and_doubles_nothing(matcher_setup, matcher_processes):
    contract = make_contract("checkout_completed", CHECKOUT_V1)
    rng = random.Random(4)
    matchers = {name: matcher_processes(name) for name in ("a", "b")}

    with Flow(matcher_setup.raw_topic) as flow:
        for _ in range(6):
            # Kill a matcher that is busy matching, not one still starting up.
            name = rng.choice(sorted(matchers))
            wait_until(matchers[name].owns_partitions, 120, f"matcher {name} to get partitions")
            time.sleep(rng.uniform(0.3, 1.5))
            matchers[name].kill()
            matchers[name] = matcher_processes(name)

    assert_each_event_once(matcher_setup, contract, flow.events)
    for matcher in matchers.values():
        assert matcher.terminate() == 0, matcher.log.read_text()


def test_scaling_in_and_out_with_sigterm_loses_and_doubles_nothing(
    matcher_setup, matcher_processes
):
    contract = make_contract("checkout_completed", CHECKOUT_V1)
    first = matcher_processes("a")

    with Flow(matcher_setup.raw_topic) as flow:
        wait_until(first.owns_partitions, 120, "the first matcher to get partitions")
        second = matcher_processes("b")
        wait_until(second.owns_partitions, 120, "the second matcher to get partitions")
        flow.wait_for(len(flow.events) + 400)
        assert first.terminate() == 0, first.log.read_text()  # leaves while events flow
        third = matcher_processes("c")
        wait_until(third.owns_partitions, 120, "the third matcher to get partitions")
        flow.wait_for(len(flow.events) + 400)
        assert second.terminate() == 0, second.log.read_text()
        flow.wait_for(len(flow.events) + 400)

    assert_each_event_once(matcher_setup, contract, flow.events)
    assert third.terminate() == 0, third.log.read_text()


def test_matchers_without_an_instance_name_on_one_host_do_not_fence_each_other(
    matcher_setup, matcher_processes
):
    contract = make_contract("checkout_completed", CHECKOUT_V1)

    with Flow(matcher_setup.raw_topic) as flow:
        first, second = matcher_processes(None), matcher_processes(None)
        for matcher in (first, second):
            wait_until(matcher.owns_partitions, 120, "both matchers to get partitions")
        flow.wait_for(1500)  # events flow through both

    assert_each_event_once(matcher_setup, contract, flow.events)
    names = {matcher.instance_name() for matcher in (first, second)}
    assert len(names) == 2, names
    for matcher in (first, second):
        assert matcher.terminate() == 0, matcher.log.read_text()  # neither was fenced


def test_a_killed_matcher_restarted_at_once_resumes_before_its_session_expires(
    matcher_setup, matcher_processes
):
    # Static membership: the restarted instance takes its partitions back without waiting for
    # the broker to give up on its predecessor (a minute here).
    matcher_setup.env["MATCHER_SESSION_TIMEOUT_MS"] = "60000"
    contract = make_contract("checkout_completed", CHECKOUT_V1)
    matcher = matcher_processes("a")
    wait_until(matcher.owns_partitions, 120, "the matcher to get partitions")

    with Flow(matcher_setup.raw_topic) as flow:
        flow.wait_for(500)
        matcher.kill()
        restarted = matcher_processes("a")
        wait_until(restarted.owns_partitions, 30, "the restarted matcher to own partitions")
        flow.wait_for(len(flow.events) + 500)

    wait_until(
        lambda: caught_up(matcher_setup.group, matcher_setup.raw_topic),
        40,
        "the restarted matcher to catch up, well before the old session's minute is over",
    )
    assert_each_event_once(matcher_setup, contract, flow.events)
    assert restarted.terminate() == 0, restarted.log.read_text()
