"""Claims side by side: the daily budget holds for any number of notifiers."""

from __future__ import annotations

import threading

import psycopg
import pytest

from alerts import AlertEpisode, NewSubscriber, add_subscriber, fan_out, reconcile
from alerts.notify import NotifySettings
from alerts.notify.channels import Sms
from alerts.notify.claims import claim
from stations import load_registry, sync_registry
from telemetry import migrate
from tests.support.times import local_time

pytestmark = pytest.mark.integration

NOON = local_time("12:00")


def warn_followers(conn: psycopg.Connection[object], followers: int) -> None:
    """``followers`` subscribers of KG-SR-01, each with a warning (not critical) due."""
    sync_registry(conn, load_registry(), deactivate_missing=False)
    for n in range(followers):
        new = NewSubscriber(name="Nông dân", phone=f"09120000{n:02d}", stations=("KG-SR-01",))
        add_subscriber(conn, new)
    at = NOON.timestamp() - 600
    episode = AlertEpisode("KG-SR-01", "shrimp.do.low", "threshold", at, 2, value=3.2)
    changes = reconcile(
        conn, [episode], clear={}, window_start=at - 3600, now=NOON.timestamp(), late_after_s=900
    )
    fan_out(conn, changes)
    conn.commit()


def test_two_notifiers_claiming_at_once_send_no_more_than_the_budget(database_url: str) -> None:
    migrate(database_url)
    settings = NotifySettings(database_url=database_url, daily_budget=3, batch_size=3)
    with psycopg.connect(database_url) as first, psycopg.connect(database_url) as second:
        warn_followers(first, 6)
        claimed: dict[str, list[Sms]] = {}

        def notifier_b() -> None:
            claimed["B"] = claim(second, worker="B", settings=settings, now=NOON)

        # A's claim stays uncommitted while B claims the other three rows.
        with first.transaction():
            claimed["A"] = claim(first, worker="A", settings=settings, now=NOON)
            thread = threading.Thread(target=notifier_b)
            thread.start()
            thread.join(timeout=1)
        thread.join(timeout=20)
        states = first.execute(
            "SELECT state, count(*) FROM notifications GROUP BY state ORDER BY state"
        ).fetchall()
        used = first.execute("SELECT used FROM sms_budget").fetchall()
    assert (len(claimed["A"]), len(claimed["B"])) == (3, 0)
    assert states == [("sending", 3), ("suppressed", 3)]
    assert used == [(3,)]
