"""The envelope's own rules: the corrected event time and the record key."""

from datetime import UTC, datetime, timedelta, timezone

from events.envelope import event_time, record_key

RECEIVED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_without_sent_at_the_client_timestamp_is_the_event_time_in_utc():
    paris = timezone(timedelta(hours=1))
    assert event_time(datetime(2026, 11, 25, 10, 0, tzinfo=paris), None, RECEIVED) == datetime(
        2026, 11, 25, 9, 0, tzinfo=UTC
    )


def test_the_delay_the_client_measured_is_taken_back_from_the_receive_time():
    # The client's clock is a year off; only the 90 s between event and sending count.
    happened = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
    sent = happened + timedelta(seconds=90)

    assert event_time(happened, sent, RECEIVED) == RECEIVED - timedelta(seconds=90)


def test_a_clock_that_jumped_back_before_sending_gives_the_receive_time():
    happened = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)

    assert event_time(happened, happened - timedelta(hours=1), RECEIVED) == RECEIVED


def test_dates_at_the_edge_of_the_calendar_do_not_fail():
    ancient = datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    far = datetime(9999, 12, 31, tzinfo=UTC)

    assert event_time(ancient, None, RECEIVED) == ancient
    assert event_time(ancient, far, RECEIVED) == ancient


def test_records_are_keyed_by_client_else_by_event():
    assert record_key("shop-ios", "device-1", "e-1") == b"shop-ios:device-1"
    assert record_key("shop-ios", None, "e-1") == b"e-1"
    assert record_key(None, None, None) is None
