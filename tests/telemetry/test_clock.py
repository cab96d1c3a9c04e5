"""Clocks: the system's, and a fixed one tests set and advance."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from telemetry import Clock, FixedClock, SystemClock

VN = timezone(timedelta(hours=7))


def test_a_fixed_clock_reads_what_it_was_given_in_utc_until_moved() -> None:
    clock = FixedClock(datetime(2026, 11, 22, 4, 57, tzinfo=VN))
    assert clock.time() == datetime(2026, 11, 21, 21, 57, tzinfo=UTC).timestamp()
    assert clock.now() == datetime(2026, 11, 21, 21, 57, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    assert clock.time() == clock.time()  # it does not run by itself
    clock.advance(3 * 3600)
    assert clock.now().astimezone(VN) == datetime(2026, 11, 22, 7, 57, tzinfo=VN)
    clock.set(1_800_000_000)
    assert clock.time() == 1_800_000_000.0


def test_a_fixed_clock_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        FixedClock(datetime(2026, 11, 22, 4, 57))


def test_the_system_clock_is_the_wall_clock() -> None:
    clock: Clock = SystemClock()
    before = time.time()
    read, now = clock.time(), clock.now()
    after = time.time()
    assert before <= read <= after
    assert before <= now.timestamp() <= after
    assert now.tzinfo is UTC
