"""Subscriber errors carry the phone number as data, never in their (loggable) message."""

from __future__ import annotations

import psycopg
import pytest

from alerts.notify import (
    NewSubscriber,
    NoSuchSubscriberError,
    PhoneTakenError,
    add_subscriber,
    get_subscriber,
    list_subscribers,
    remove_subscriber,
)
from stations import load_registry, sync_registry
from telemetry import migrate

pytestmark = pytest.mark.integration


def test_a_taken_or_unknown_number_is_refused_without_it_in_the_message(
    database_url: str,
) -> None:
    migrate(database_url)
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, load_registry(), deactivate_missing=False)
        new = NewSubscriber(name="Nông dân", phone="0912 345 678", stations=("KG-SR-01",))
        first = add_subscriber(conn, new)
        with pytest.raises(PhoneTakenError) as taken:
            add_subscriber(conn, new)
        with pytest.raises(NoSuchSubscriberError) as unknown:
            remove_subscriber(conn, "0912 000 000")
        stored = get_subscriber(conn, first)
        listed = list_subscribers(conn)
    assert taken.value.phone == "+84912345678"
    assert unknown.value.phone == "+84912000000"
    for error in (taken.value, unknown.value):
        assert "912" not in str(error)
    assert stored is not None
    assert (stored.phone, stored.stations, stored.opted_out_at) == (
        "+84912345678",
        ("KG-SR-01",),
        None,
    )
    assert listed == [stored]
