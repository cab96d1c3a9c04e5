"""Claims side by side: the daily budget holds for any number of notifiers; a claim's
queries do not grow with its batch."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import psycopg
import pytest
from psycopg import sql

from alerts import (
    AlertEpisode,
    NewSubscriber,
    acknowledge,
    add_subscriber,
    fan_out,
    reconcile,
    resolve,
)
from alerts.notify import NotifySettings
from alerts.notify.channels import Sms
from alerts.notify.claims import claim
from alerts.notify.outbox import escalate
from alerts.notify.policy import local_midnight
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


class CountingCursor(psycopg.Cursor[Any]):
    """A cursor that notes the first word of every statement it executes."""

    statements: ClassVar[list[str]] = []

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> CountingCursor:
        text = query.as_string(self) if isinstance(query, sql.Composable) else str(query)
        CountingCursor.statements.append(text.split()[0].upper())
        super().execute(query, params, **kwargs)
        return self


def statements_of_claim(database_url: str, settings: NotifySettings) -> tuple[int, list[str]]:
    """How many messages one claim returned, and its statements' first words."""
    CountingCursor.statements = []
    with psycopg.connect(database_url, cursor_factory=CountingCursor) as conn:
        sent = claim(conn, worker="A", settings=settings, now=NOON)
    return len(sent), CountingCursor.statements


def test_a_claim_reads_the_same_number_of_times_whatever_its_batch(database_url: str) -> None:
    migrate(database_url)
    with psycopg.connect(database_url) as conn:
        warn_followers(conn, 6)
        conn.execute(
            "INSERT INTO sms_budget (day, used) VALUES (%s, 0)", (local_midnight(NOON).date(),)
        )
        conn.commit()
    small = NotifySettings(database_url=database_url, batch_size=2)
    large = NotifySettings(database_url=database_url, batch_size=4)
    two, few = statements_of_claim(database_url, small)
    four, many = statements_of_claim(database_url, large)
    assert (two, four) == (2, 4)
    assert few.count("SELECT") == many.count("SELECT")
    # Per row, only the update that marks it sending; then the budget's one update.
    assert len(many) - len(few) == 2
    assert many[-5:] == ["UPDATE"] * 5


def test_acknowledging_tells_nobody_and_stops_a_queued_escalation_resolving_tells_the_told(
    database_url: str,
) -> None:
    """What the API's acknowledge and resolve do (``acknowledge``; ``fan_out(resolve(...))``)."""
    migrate(database_url)
    settings = NotifySettings(database_url=database_url)
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, load_registry(), deactivate_missing=False)
        add_subscriber(
            conn, NewSubscriber(name="Nông dân", phone="0912000001", stations=("KG-SR-01",))
        )
        add_subscriber(
            conn, NewSubscriber(name="Cán bộ", phone="0355555555", role="officer", on_duty=True)
        )
        at = NOON.timestamp() - 600
        episode = AlertEpisode("KG-SR-01", "shrimp.do.low", "threshold", at, 3, value=1.8)
        (opened,) = reconcile(
            conn,
            [episode],
            clear={},
            window_start=at - 3600,
            now=NOON.timestamp(),
            late_after_s=900,
        )
        fan_out(conn, [opened])
        conn.commit()
        assert len(claim(conn, worker="A", settings=settings, now=NOON)) == 1  # the farmer's
        assert escalate(conn, after_s=0) == 1  # nobody acknowledged it yet: to the officer
        conn.commit()
        queued = conn.execute("SELECT count(*) FROM notifications").fetchone()
        acknowledge(conn, opened.alert_id, actor="officer", note=None)
        conn.commit()
        assert conn.execute("SELECT count(*) FROM notifications").fetchone() == queued
        assert claim(conn, worker="A", settings=settings, now=NOON) == []
        escalation = conn.execute(
            "SELECT state, reason FROM notifications WHERE kind = 'escalation'"
        ).fetchone()
        fan_out(conn, [resolve(conn, opened.alert_id, actor="officer", note="aerators on")])
        conn.commit()
        told = conn.execute("SELECT phone FROM notifications WHERE kind = 'resolved'").fetchall()
    assert escalation == ("cancelled", "alert acknowledged before sending")
    assert told == [("+84912000001",)]
