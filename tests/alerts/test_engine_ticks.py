"""Ticks evaluate only the stations that got readings, plus the time-driven checks.

A station that falls silent gets no readings, yet its silence is found; when it reports
again, its offline alert resolves in an ordinary tick (not a full pass), and the station
that kept reporting raises its own alert from its new readings alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import psycopg
import pytest

from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.engine import Engine
from alerts.settings import AlertSettings
from stations import Registry, load_registry, sync_registry
from telemetry import PARAMETERS, FixedClock, QCFlag, migrate
from tests.support.times import at_times_of_day

pytestmark = pytest.mark.integration

DO = PARAMETERS["do"].id
QUIET, BUSY = "KG-SR-01", "KG-SR-02"  # white-leg shrimp: DO warning below 3.5 for 30 min
STEP = 300.0


def insert(
    conn: psycopg.Connection[Any], station: str, readings: list[tuple[float, float]]
) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (time, station_id, parameter_id, value)"
            " VALUES (to_timestamp(%s), %s, %s, %s)",
            [(t, station, DO, v) for t, v in readings],
        )
    conn.commit()


def alerts(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str]]:
    rows = conn.execute("SELECT station_id, rule_id, state FROM alerts ORDER BY id").fetchall()
    conn.commit()
    return [(str(s), str(r), str(state)) for s, r, state in rows]


@at_times_of_day
def test_silence_is_found_without_readings_and_resolves_in_an_ordinary_tick(
    now: datetime, database_url: str
) -> None:
    clock = FixedClock(now)
    at = clock.time() // STEP * STEP
    chosen = load_registry().stations
    registry = Registry(
        tuple(chosen[s].model_copy(update={"sampling_interval_s": 300}) for s in (QUIET, BUSY)),
        (),
        source="test",
    )
    migrate(database_url)
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, registry, deactivate_missing=False)
        # Both reported 6 mg/L for three hours; the quiet one stopped an hour ago.
        insert(conn, BUSY, [(at - STEP * k, 6.0) for k in range(36)])
        insert(conn, QUIET, [(at - STEP * k, 6.0) for k in range(12, 36)])
        engine = Engine(
            AlertSettings(settle_s=0.0),
            registry=registry,
            profiles=load_profiles(),
            quality=load_quality_config(),
        )
        engine.load(conn, now=clock.time())
        engine.tick(conn, now=clock.time())  # the full pass
        assert alerts(conn) == [(QUIET, "station.offline", "open")]
        # Only the busy station reports, at 3 mg/L, for 40 minutes.
        for k in range(1, 9):
            clock.advance(STEP)
            insert(conn, BUSY, [(at + STEP * k, 3.0)])
            engine.tick(conn, now=clock.time())
        assert alerts(conn) == [
            (QUIET, "station.offline", "open"),
            (BUSY, "shrimp.do.low", "open"),
        ]
        clock.advance(STEP)
        insert(conn, QUIET, [(at + STEP * 9, 6.0)])
        engine.tick(conn, now=clock.time())
        assert alerts(conn) == [
            (QUIET, "station.offline", "resolved"),
            (BUSY, "shrimp.do.low", "open"),
        ]


@at_times_of_day
def test_a_flag_that_changes_with_the_next_reading_is_stored(
    now: datetime, database_url: str
) -> None:
    """Every station reported (the tick flags all rows): a spike is known only when the
    reading after it arrives, and that later verdict on the earlier reading is stored too."""
    clock = FixedClock(now)
    at = clock.time() // STEP * STEP
    station = load_registry().stations[BUSY].model_copy(update={"sampling_interval_s": 300})
    registry = Registry((station,), (), source="test")
    migrate(database_url)
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, registry, deactivate_missing=False)
        insert(conn, BUSY, [(at - STEP * k, 6.0 + 0.01 * (k % 2)) for k in range(36)])
        engine = Engine(
            AlertSettings(settle_s=0.0),
            registry=registry,
            profiles=load_profiles(),
            quality=load_quality_config(),
        )
        engine.load(conn, now=clock.time())
        engine.tick(conn, now=clock.time())
        for value in (14.0, 6.0):  # a spike, then the reading that exposes it
            clock.advance(STEP)
            at += STEP
            insert(conn, BUSY, [(at, value)])
            engine.tick(conn, now=clock.time())
        stored = conn.execute(
            "SELECT qc FROM readings WHERE station_id = %s AND time = to_timestamp(%s)",
            (BUSY, at - STEP),
        ).fetchone()
        conn.commit()
    window = engine.windows[0]
    row = int(window.station_rows("do")[0])
    column = int(np.searchsorted(window.times, at - STEP))
    assert window.flags[row, column] in (QCFlag.SUSPECT, QCFlag.FAIL)
    assert stored == (int(window.flags[row, column]),)
