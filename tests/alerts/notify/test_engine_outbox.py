"""The engine's tick writes the outbox rows in the transaction that opens the alert; claims
respect quiet hours at the notifier's time of day."""

from __future__ import annotations

from datetime import datetime, time

import psycopg
import pytest

from alerts import (
    AlertEpisode,
    Engine,
    NewSubscriber,
    add_subscriber,
    fan_out,
    load_profiles,
    load_quality_config,
    reconcile,
)
from alerts.notify import LogChannel, Notifier, NotifySettings
from alerts.notify.claims import claim
from alerts.notify.outbox import enqueue_notice
from alerts.notify.states import Kind, State
from alerts.settings import AlertSettings
from stations import load_registry, sync_registry
from telemetry import PARAMETERS, FixedClock, migrate
from tests.support.times import LOCAL_ZONE, at_times_of_day, local_time

pytestmark = pytest.mark.integration


NOON = local_time("12:00").timestamp()


@at_times_of_day
def test_a_tick_that_opens_an_alert_queues_one_sms_per_follower(
    now: datetime, database_url: str
) -> None:
    migrate(database_url)
    registry = load_registry()
    at = now.timestamp()
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, registry, deactivate_missing=False)
        for phone, station in (
            ("0912000001", "KG-SR-01"),
            ("0912000002", "KG-SR-01"),
            ("0912000003", "KG-SR-02"),
        ):
            add_subscriber(conn, NewSubscriber(name="Nông dân", phone=phone, stations=(station,)))
        for k in range(12):  # an hour of DO at 3.0 mg/L at KG-SR-01: a warning (below 3.5)
            conn.execute(
                "INSERT INTO readings (time, station_id, parameter_id, value)"
                " VALUES (to_timestamp(%s), 'KG-SR-01', %s, 3.0)",
                (at - 300 * k, PARAMETERS["do"].id),
            )
        conn.commit()
        engine = Engine(
            AlertSettings(settle_s=0.0),
            registry=registry,
            profiles=load_profiles(),
            quality=load_quality_config(),
        )
        engine.load(conn, now=at)
        engine.tick(conn, now=at)
        engine.tick(conn, now=at + 10)  # again: nothing new, nothing queued twice
        queued = conn.execute(
            "SELECT n.phone, a.rule_id, a.severity FROM notifications n"
            " JOIN alerts a ON a.id = n.alert_id ORDER BY n.phone"
        ).fetchall()
    assert queued == [
        ("+84912000001", "shrimp.do.low", 2),
        ("+84912000002", "shrimp.do.low", 2),
    ]


def test_an_alert_that_opened_and_escalated_in_one_tick_is_one_sms(database_url: str) -> None:
    migrate(database_url)
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, load_registry(), deactivate_missing=False)
        add_subscriber(
            conn, NewSubscriber(name="Nông dân", phone="0912000001", stations=("KG-SR-01",))
        )
        at = NOON - 3600
        episode = AlertEpisode(
            "KG-SR-01",
            "shrimp.do.low",
            "threshold",
            at,
            3,
            escalations=((at, 1), (at + 600, 2), (at + 1200, 3)),
            value=1.9,
        )
        changes = reconcile(
            conn, [episode], clear={}, window_start=at - 3600, now=NOON, late_after_s=900
        )
        fan_out(conn, changes)
        queued = conn.execute("SELECT kind, severity FROM notifications").fetchall()
    assert [c.kind for c in changes] == ["opened", "escalated", "escalated"]
    assert queued == [("alert", 3)]


def test_a_row_taken_back_from_a_slow_batch_is_not_sent_by_its_first_worker(
    database_url: str,
) -> None:
    migrate(database_url)
    settings = NotifySettings(database_url=database_url, worker_id="A")
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, load_registry(), deactivate_missing=False)
        for n in range(1, 4):
            add_subscriber(
                conn, NewSubscriber(name="Nông dân", phone=f"091200000{n}", stations=("KG-SR-01",))
            )
        at = NOON - 600
        episode = AlertEpisode("KG-SR-01", "shrimp.do.low", "threshold", at, 2, value=3.2)
        fan_out(
            conn,
            reconcile(
                conn, [episode], clear={}, window_start=at - 3600, now=NOON, late_after_s=900
            ),
        )
        conn.commit()
        worker = Notifier(settings, channel=LogChannel(), clock=FixedClock(NOON))
        batch = claim(conn, worker="A", settings=settings, now=local_time("12:00"))
        # While A works through its batch, the last row outlasts in_doubt_s and B takes it.
        conn.execute(
            "UPDATE notifications SET claimed_by = 'B' WHERE id = %s", (batch[-1].notification_id,)
        )
        conn.commit()
        sent = worker.send(conn, batch)
        states = conn.execute("SELECT state, claimed_by FROM notifications ORDER BY id").fetchall()
    assert (len(batch), sent) == (3, 2)
    assert states == [("sent", "A"), ("sent", "A"), ("sending", "B")]


def test_a_subscriber_held_by_a_reply_is_skipped_not_waited_for(database_url: str) -> None:
    migrate(database_url)
    settings = NotifySettings(database_url=database_url)
    with psycopg.connect(database_url) as conn, psycopg.connect(database_url) as reply:
        sync_registry(conn, load_registry(), deactivate_missing=False)
        farmer = add_subscriber(
            conn, NewSubscriber(name="Nông dân", phone="0912000001", stations=("KG-SR-01",))
        )
        at = NOON - 600
        episode = AlertEpisode("KG-SR-01", "shrimp.do.low", "threshold", at, 2, value=3.2)
        fan_out(
            conn,
            reconcile(
                conn, [episode], clear={}, window_start=at - 3600, now=NOON, late_after_s=900
            ),
        )
        conn.commit()
        # A reply (opt-out) in progress holds the subscriber and will update their outbox.
        reply.execute("SELECT 1 FROM subscribers WHERE id = %s FOR UPDATE", (farmer,))
        assert claim(conn, worker="A", settings=settings, now=local_time("12:00")) == []
        assert conn.execute("SELECT state FROM notifications").fetchone() == ("pending",)
        reply.commit()
        assert len(claim(conn, worker="A", settings=settings, now=local_time("12:00"))) == 1


def test_the_hourly_cap_counts_the_same_kinds_within_a_batch_as_across_batches(
    database_url: str,
) -> None:
    """A help answer claimed in the same batch as an alert does not use up the cap."""
    migrate(database_url)
    settings = NotifySettings(database_url=database_url, hourly_cap=1)
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, load_registry(), deactivate_missing=False)
        farmer = add_subscriber(
            conn, NewSubscriber(name="Nông dân", phone="0912000001", stations=("KG-SR-01",))
        )
        enqueue_notice(conn, key="reply:1", kind=Kind.HELP, subscriber_ids=[farmer])
        at = NOON - 600
        episode = AlertEpisode("KG-SR-01", "shrimp.do.low", "threshold", at, 2, value=3.2)
        fan_out(
            conn,
            reconcile(
                conn, [episode], clear={}, window_start=at - 3600, now=NOON, late_after_s=900
            ),
        )
        conn.commit()
        sent = claim(conn, worker="A", settings=settings, now=local_time("12:00"))
        kinds = conn.execute("SELECT kind, state FROM notifications ORDER BY id").fetchall()
    assert len(sent) == 2
    assert kinds == [(Kind.HELP, State.SENDING), (Kind.ALERT, State.SENDING)]


# Quiet hours 21:00-05:00: when a warning claimed at each time of day may go out.
QUIET = (time(21, 0), time(5, 0))
POSTPONED_UNTIL = {"00:30": "05:00", "04:57": "05:00", "12:00": None, "19:30": None}


@at_times_of_day
def test_quiet_hours_hold_a_warning_until_morning_and_never_a_critical_alert(
    now: datetime, database_url: str
) -> None:
    migrate(database_url)
    settings = NotifySettings(database_url=database_url)
    at = now.timestamp() - 600
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, load_registry(), deactivate_missing=False)
        for phone, quiet in (("0912000001", QUIET), ("0912000002", (None, None))):
            new = NewSubscriber(
                name="Nông dân",
                phone=phone,
                stations=("KG-SR-01",),
                quiet_start=quiet[0],
                quiet_end=quiet[1],
            )
            add_subscriber(conn, new)
        episodes = [
            AlertEpisode("KG-SR-01", "shrimp.do.low", "threshold", at, 2, value=3.2),
            AlertEpisode("KG-SR-01", "shrimp.nh3.high", "threshold", at, 3, value=0.4),
        ]
        fan_out(
            conn,
            reconcile(
                conn,
                episodes,
                clear={},
                window_start=at - 3600,
                now=now.timestamp(),
                late_after_s=900,
            ),
        )
        conn.commit()
        sent = claim(conn, worker="A", settings=settings, now=now)
        rows = conn.execute(
            "SELECT n.phone, n.severity, n.state, n.not_before, n.reason FROM notifications n"
            " ORDER BY n.phone, n.severity"
        ).fetchall()
    until = POSTPONED_UNTIL[now.astimezone(LOCAL_ZONE).strftime("%H:%M")]
    states = [(phone, severity, state) for phone, severity, state, _, _ in rows]
    assert states == [
        ("+84912000001", 2, "pending" if until else "sending"),
        ("+84912000001", 3, "sending"),  # critical: quiet hours do not hold it
        ("+84912000002", 2, "sending"),
        ("+84912000002", 3, "sending"),
    ]
    assert len(sent) == (3 if until else 4)
    if until:
        _, _, _, not_before, reason = rows[0]
        assert reason == "quiet hours"
        assert not_before == local_time(until)  # this morning's end, not tomorrow's
