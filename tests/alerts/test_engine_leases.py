"""Alert engines sharing stations through leases: they split, hand over and take over
without raising an alert or an event twice, against the real database.

Every station reported once, two hours before ``now``, and then went silent: each has one
offline alert to open, whichever worker evaluates it. The workers tick in turn on their own
connections, with lease times from the test's clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest

from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.engine import Engine
from alerts.persistence.leases import Leases
from alerts.settings import AlertSettings
from stations import load_registry, sync_registry
from telemetry import PARAMETERS, FixedClock, migrate
from tests.support.times import at_times_of_day

pytestmark = pytest.mark.integration

REGISTRY = load_registry()
LEASE_S = 30.0


class Worker:
    """An engine with leases and a connection of its own."""

    def __init__(self, url: str, name: str, clock: FixedClock) -> None:
        self.engine = Engine(
            AlertSettings(lease_s=LEASE_S, settle_s=0),
            registry=REGISTRY,
            profiles=load_profiles(),
            quality=load_quality_config(),
            leases=Leases(name, list(REGISTRY.stations), lease_s=LEASE_S),
        )
        self.clock = clock
        self.conn: psycopg.Connection[Any] = psycopg.connect(url)
        self.engine.load(self.conn, now=clock.time())

    def tick(self) -> set[str]:
        self.engine.tick(self.conn, now=self.clock.time())
        return set(self.engine.station_ids)


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    made: list[Worker] = []
    yield made
    for worker in made:
        worker.conn.close()


def silent_since(url: str, at: float) -> None:
    migrate(url)
    with psycopg.connect(url) as conn:
        sync_registry(conn, REGISTRY, deactivate_missing=False)
        for station in REGISTRY.stations.values():
            conn.execute(
                "INSERT INTO readings (time, station_id, parameter_id, value)"
                " VALUES (to_timestamp(%s), %s, %s, 5.0)",
                (at, station.id, PARAMETERS[station.parameters[0]].id),
            )


def history(url: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Every alert (station, rule, state) and every event (station, kind)."""
    with psycopg.connect(url) as conn:
        alerts = conn.execute("SELECT station_id, rule_id, state FROM alerts ORDER BY 1").fetchall()
        events = conn.execute(
            "SELECT a.station_id, e.kind FROM alert_events e JOIN alerts a ON a.id = e.alert_id"
            " ORDER BY 1, e.id"
        ).fetchall()
    return alerts, events


@at_times_of_day
def test_workers_split_hand_over_and_take_over_without_repeating_an_alert(
    now: datetime, database_url: str, workers: list[Worker]
) -> None:
    clock = FixedClock(now)
    silent_since(database_url, now.timestamp() - 2 * 3600)
    every = set(REGISTRY.stations)
    a = Worker(database_url, "a", clock)
    workers.append(a)
    assert a.tick() == every
    offline = [(s, "station.offline", "open") for s in sorted(every)]
    assert history(database_url) == (offline, [(s, "opened") for s in sorted(every)])

    # A second worker joins: within two rounds they split the stations, and the one that
    # takes stations over re-derives their alerts without opening any again.
    b = Worker(database_url, "b", clock)
    workers.append(b)
    for _ in range(2):
        clock.advance(10)
        owned_a, owned_b = a.tick(), b.tick()
    assert owned_a | owned_b == every
    assert not owned_a & owned_b
    assert sorted(map(len, (owned_a, owned_b))) == [3, 4]
    assert history(database_url) == (offline, [(s, "opened") for s in sorted(every)])

    # a dies; once its leases run out b evaluates everything, still without repeats.
    clock.advance(LEASE_S + 1)
    assert b.tick() == every
    assert history(database_url) == (offline, [(s, "opened") for s in sorted(every)])

    # One of the stations b took over reports again: its alert resolves, once.
    back = sorted(owned_a)[0]
    step = REGISTRY.stations[back].sampling_interval_s
    on_grid = clock.time() // step * step
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO readings (time, station_id, parameter_id, value)"
            " VALUES (to_timestamp(%s), %s, %s, 5.0)",
            (on_grid, back, PARAMETERS[REGISTRY.stations[back].parameters[0]].id),
        )
    clock.advance(10)
    b.tick()
    clock.advance(10)
    b.tick()
    alerts, events = history(database_url)
    assert [a for a in alerts if a[2] == "resolved"] == [(back, "station.offline", "resolved")]
    assert events.count((back, "resolved")) == 1
    assert len(events) == len(every) + 1
