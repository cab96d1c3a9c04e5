"""Readings dated ahead of the engine's clock (a logger's clock running fast), tick by tick.

Ingest accepts readings up to a few minutes in the future; the engine evaluates them once
its own clock reaches them, and a station whose clock runs fast is not offline.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

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
STATION = "KG-SR-01"
TICK_S = 30.0


def started(database_url: str) -> tuple[psycopg.Connection[Any], Engine]:
    """A connection and an engine of KG-SR-01 alone (every 5 minutes), not loaded yet."""
    migrate(database_url)
    station = load_registry().stations[STATION].model_copy(update={"sampling_interval_s": 300})
    registry = Registry((station,), (), source="test")
    conn = psycopg.connect(database_url)
    sync_registry(conn, registry, deactivate_missing=False)
    engine = Engine(
        AlertSettings(settle_s=0.0),
        registry=registry,
        profiles=load_profiles(),
        quality=load_quality_config(),
    )
    return conn, engine


def insert(conn: psycopg.Connection[Any], readings: list[tuple[float, float]]) -> None:
    """Store DO readings (time, value) of the station, as ingest would, and commit."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (time, station_id, parameter_id, value)"
            " VALUES (to_timestamp(%s), %s, %s, %s)",
            [(t, STATION, DO, v) for t, v in readings],
        )
    conn.commit()


def reading(sent: float, *, fast: float) -> tuple[float, float]:
    """A plausible DO reading sent at ``sent``, stamped by a clock ``fast`` seconds ahead."""
    return sent + fast, 6.0 + 0.5 * math.sin(sent / 1800)


def qc_at(conn: psycopg.Connection[Any], epoch: float) -> int:
    row = conn.execute(
        "SELECT qc FROM readings WHERE station_id = %s AND parameter_id = %s"
        " AND time = to_timestamp(%s)",
        (STATION, DO, epoch),
    ).fetchone()
    assert row is not None
    return int(row[0])


@at_times_of_day
def test_a_reading_ahead_of_the_clock_gets_its_flag_once_its_time_comes(
    now: datetime, database_url: str
) -> None:
    clock = FixedClock(now)
    conn, engine = started(database_url)
    with conn:
        engine.load(conn, now=clock.time())
        ahead = clock.time() + 150.0  # 2.5 min ahead, out of the DO sensor's span: FAIL
        insert(conn, [(ahead, 25.0)])
        while clock.time() < ahead:
            engine.tick(conn, now=clock.time())
            assert qc_at(conn, ahead) == QCFlag.UNKNOWN  # not evaluated yet
            clock.advance(TICK_S)
        for _ in range(round(600 / TICK_S)):
            engine.tick(conn, now=clock.time())
            clock.advance(TICK_S)
        assert qc_at(conn, ahead) == QCFlag.FAIL


@at_times_of_day
def test_a_station_whose_clock_runs_four_minutes_fast_never_goes_offline(
    now: datetime, database_url: str
) -> None:
    clock = FixedClock(now)
    fast = 240.0
    # It has reported every 5 minutes for the last two hours, stamped 4 minutes ahead.
    first = clock.time() - 7200
    conn, engine = started(database_url)
    with conn:
        insert(conn, [reading(first + 300 * k, fast=fast) for k in range(24)])
        engine.load(conn, now=clock.time())
        due = first + 300 * 24
        for _ in range(round(2 * 3600 / TICK_S)):
            if clock.time() >= due:
                insert(conn, [reading(due, fast=fast)])
                due += 300
            engine.tick(conn, now=clock.time())
            clock.advance(TICK_S)
        opened = conn.execute(
            "SELECT count(*) FROM alerts WHERE station_id = %s AND rule_id = 'station.offline'",
            (STATION,),
        ).fetchone()
        unevaluated = conn.execute(
            "SELECT count(*) FROM readings WHERE station_id = %s AND qc = %s"
            " AND time <= to_timestamp(%s)",
            (STATION, QCFlag.UNKNOWN, clock.time() - 300),
        ).fetchone()
    assert opened == (0,)
    assert unevaluated == (0,)
