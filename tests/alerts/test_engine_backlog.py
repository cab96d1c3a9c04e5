"""A start's QC flags are stored a chunk per tick, oldest first, and none is left behind when
the window moves on.

The engine flags a whole window at its start (millions of readings at 10,000 stations) but
stores none of those flags in its first tick and at most ``flag_chunk`` in each tick after,
so that its first alerts go out without waiting for the largest write it ever makes. Until
a reading's flag is stored it reads "not yet checked" (qc 2).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.engine import Engine
from alerts.settings import AlertSettings
from bench.alerts import registry, store
from stations import sync_registry
from telemetry import PARAMETERS_BY_ID, FixedClock, QCFlag, migrate
from tests.support.times import at_times_of_day

pytestmark = pytest.mark.integration

STEP = 300.0
REGISTRY = registry(100)  # x 10 parameters: 1,000 readings a grid instant
CHUNK = 1000  # the least flag_chunk allows: one grid instant per tick
HOUR = 12  # grid instants in the hour stored
Conn = psycopg.Connection[Any]


def engine() -> Engine:
    return Engine(
        AlertSettings(settle_s=0.0, history_s=3600.0, flag_chunk=CHUNK),
        registry=REGISTRY,
        profiles=load_profiles(),
        quality=load_quality_config(),
    )


Key = tuple[float, str, int]  # a reading: time, station, parameter


def flags(conn: Conn, engine: Engine) -> dict[Key, tuple[int, int]]:
    """Each reading's stored flag and the engine's (for those in its window)."""
    rows = conn.execute(
        "SELECT extract(epoch FROM time)::float8, station_id, parameter_id, qc FROM readings"
    ).fetchall()
    conn.commit()
    window = engine.windows[0]
    found = {}
    for epoch, station, parameter, qc in rows:
        column = round((float(epoch) - window.times[0]) / window.step)
        if column >= 0:
            index = window.station_ids.index(station)
            row = window.station_rows(PARAMETERS_BY_ID[parameter].code)[index]
            found[(float(epoch), str(station), int(parameter))] = (
                int(qc),
                int(window.flags[row, column]),
            )
    return found


def flagged(conn: Conn, engine: Engine) -> list[tuple[float, bool]]:
    """Each reading's time and whether its stored flag is the engine's, oldest first."""
    return [(key[0], stored == held) for key, (stored, held) in sorted(flags(conn, engine).items())]


@contextmanager
def started(now: datetime, database_url: str) -> Iterator[tuple[FixedClock, Conn, Engine]]:
    """An engine started at ``now`` over the hour before it, stored but never evaluated."""
    clock = FixedClock(now)
    at = clock.time() // STEP * STEP
    migrate(database_url)
    with psycopg.connect(database_url) as conn:
        sync_registry(conn, REGISTRY, deactivate_missing=False)
        store(conn, REGISTRY, [at - STEP * k for k in range(HOUR - 1, -1, -1)])
        running = engine()
        running.load(conn, now=clock.time())
        yield clock, conn, running


@at_times_of_day
def test_a_start_stores_its_flags_a_chunk_per_tick_oldest_first(
    now: datetime, database_url: str
) -> None:
    with started(now, database_url) as (clock, conn, running):
        assert running.backlog
        before = flagged(conn, running)  # right already: those the engine finds unchecked
        running.tick(conn, now=clock.time())  # the first, full pass: its alerts first
        assert flagged(conn, running) == before
        running.tick(conn, now=clock.time())
        after = flagged(conn, running)
        oldest = after[0][0]
        stored = [t for (t, was), (_, done) in zip(before, after, strict=True) if done and not was]
        assert 0 < len(stored) <= CHUNK
        assert set(stored) == {oldest}
        assert all(done for t, done in after if t == oldest)
        assert not all(done for _, done in after)  # the rest waits for the next ticks
        ticks = 2
        while running.backlog:
            running.tick(conn, now=clock.time())
            ticks += 1
        assert ticks == 1 + HOUR
        assert all(done for _, done in flagged(conn, running))
        # What was stored is what the engine found: a restart has nothing left to store.
        again = engine()
        again.load(conn, now=clock.time())
        assert not again.backlog


@at_times_of_day
def test_flags_the_window_drops_are_stored_before_it_moves(
    now: datetime, database_url: str
) -> None:
    with started(now, database_url) as (clock, conn, running):
        held = {key: flag for key, (_, flag) in flags(conn, running).items()}
        # The next tick comes 40 minutes on: 8 instants leave the window (its oldest, before
        # the hour stored, and 7 with readings): 7,000 flags where a tick stores 1,000.
        clock.advance(8 * STEP)
        report = running.tick(conn, now=clock.time())
        start = running.windows[0].times[0]
        stored = conn.execute(
            "SELECT extract(epoch FROM time)::float8, station_id, parameter_id, qc FROM readings"
            " WHERE time < to_timestamp(%s)",
            (start,),
        ).fetchall()
        assert len(stored) == 7 * CHUNK
        assert all(qc == held[(float(t), s, p)] for t, s, p, qc in stored)
        assert report.flagged >= 7 * CHUNK - sum(flag == QCFlag.UNKNOWN for flag in held.values())
        assert not all(done for _, done in flagged(conn, running))  # the rest waits


def test_a_start_stores_its_compiled_rules_after_its_first_tick(database_url: str) -> None:
    # The rules the API shows wait for the tick after the full pass, as the flags do; the
    # limits people edit do not need them (see tests/alerts/test_threshold_edits.py).
    def stored() -> int:
        count = conn.execute("SELECT count(*) FROM threshold_profiles").fetchone()
        conn.commit()
        return int(count[0]) if count else 0

    expected = sum(len(load_profiles().rules_for(s)) for s in REGISTRY.stations.values())
    with started(datetime(2026, 12, 6, 3, 0, tzinfo=UTC), database_url) as (clock, conn, running):
        assert running.behind
        assert stored() == 0
        assert running.tick(conn, now=clock.time()).rules == 0  # the full pass: alerts first
        assert stored() == 0
        assert running.tick(conn, now=clock.time()).rules == len(REGISTRY.stations)
        assert stored() == expected
        while running.behind:
            running.tick(conn, now=clock.time())
        # A restart finds them as it would write them: it writes none again.
        again = engine()
        again.load(conn, now=clock.time())
        assert again.behind
        reports = [again.tick(conn, now=clock.time()) for _ in range(2)]
        assert [r.rules for r in reports] == [0, 0]
        assert stored() == expected
        assert not again.behind
