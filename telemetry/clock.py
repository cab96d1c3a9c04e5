"""Where "now" comes from: the system clock in production, a fixed one in tests.

Code that needs the present (the time of day, how old a reading is, the end of the data
window) takes a :class:`Clock` built by ``main()`` or the FastAPI lifespan instead of calling
``time.time()`` or ``datetime.now()`` itself, so a test can run it at any hour it chooses.

Two kinds of time stay where they are: ``time.monotonic()`` for timeouts and intervals, and
the database's own clock for what it stamps and compares itself (``ingested_at`` and the
alert engine's watermark over it, outbox leases, audit times).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "FixedClock", "SystemClock"]


class Clock(Protocol):
    """The present, as epoch seconds or as an aware UTC datetime."""

    def time(self) -> float:
        """Seconds since the epoch, like ``time.time()``."""
        ...

    def now(self) -> datetime:
        """The present as an aware datetime in UTC."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def time(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def now(self) -> datetime:
        """The present in UTC."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that reads the instant it was given until it is set or advanced (tests).

    Args:
        at: The instant, as an aware datetime or epoch seconds.

    Raises:
        ValueError: ``at`` is a naive datetime (which zone it means would be a guess).
    """

    def __init__(self, at: datetime | float) -> None:
        self._epoch = _epoch(at)

    def time(self) -> float:
        """The instant it reads, in seconds since the epoch."""
        return self._epoch

    def now(self) -> datetime:
        """The instant it reads, in UTC."""
        return datetime.fromtimestamp(self._epoch, UTC)

    def set(self, at: datetime | float) -> None:
        """Read ``at`` from now on."""
        self._epoch = _epoch(at)

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (backward if negative)."""
        self._epoch += seconds

    def __repr__(self) -> str:
        return f"FixedClock({self.now().isoformat()!r})"


def _epoch(at: datetime | float) -> float:
    if isinstance(at, datetime):
        if at.tzinfo is None:
            msg = f"a clock needs an aware datetime (with its zone or offset), got {at!r}"
            raise ValueError(msg)
        return at.timestamp()
    return float(at)
