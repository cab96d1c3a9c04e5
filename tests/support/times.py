"""The times of day that time-dependent tests run at, every one of them in every run."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

# The local times of day that time-dependent tests run at, all of them in every run, so a
# bug that shows only at night fails every CI run rather than the one that starts at 04:57.
LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TIMES_OF_DAY = ("00:30", "04:57", "12:00", "19:30")


def local_time(clock: str, *, day: str = "2026-11-22") -> datetime:
    """An aware instant at ``clock`` (``HH:MM``) in Kiên Giang on ``day``."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=LOCAL_ZONE)


at_times_of_day = pytest.mark.parametrize(
    "now", [local_time(t) for t in TIMES_OF_DAY], ids=TIMES_OF_DAY
)
"""Runs a test once per time of day, with ``now`` the aware instant it runs at."""
