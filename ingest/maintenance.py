"""Periodic database upkeep done by ingest workers: partitions ahead and rollups.

Several workers may run it; an advisory lock lets one of them do each round. On
TimescaleDB both SQL functions are no-ops (chunks and continuous aggregates look after
themselves), so the same code runs on both flavours.
"""

from __future__ import annotations

import logging
import threading
from typing import Final

import psycopg
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)

_LOCK_KEY: Final = 0x41515752  # "AQWR"
_PARTITIONS_EVERY_ROUNDS: Final = 120


class Maintenance:
    """Runs rollup refreshes (and, less often, partition creation) on a timer thread.

    Args:
        pool: Where its connection is borrowed from, one round at a time.
        interval_s: Seconds between rounds.
        settle_s: Rollups cover rows ingested at least this long ago.
    """

    def __init__(self, pool: ConnectionPool, *, interval_s: float, settle_s: float) -> None:
        self._pool = pool
        self._interval_s = interval_s
        self._settle_s = settle_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-maintenance", daemon=True)

    def start(self) -> None:
        """Start the timer thread."""
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the timer thread runs."""
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop after the current round."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=30)

    def run_once(self, *, partitions: bool) -> int | None:
        """Do one round; return the 1-minute buckets refreshed (None: another worker has it)."""
        with self._pool.connection(timeout=10) as conn:
            got = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_LOCK_KEY,)).fetchone()
            if not got or not got[0]:
                return None
            if partitions:
                conn.execute("SELECT aquawatch_ensure_partitions(1, 14)")
            row = conn.execute(
                "SELECT aquawatch_refresh_rollups(make_interval(secs => %s))", (self._settle_s,)
            ).fetchone()
            return int(row[0]) if row and row[0] is not None else 0

    def _run(self) -> None:
        rounds = 0
        while not self._stop.wait(self._interval_s):
            try:
                refreshed = self.run_once(partitions=rounds % _PARTITIONS_EVERY_ROUNDS == 0)
            except psycopg.Error:
                logger.exception("maintenance round failed; retrying next round")
            else:
                logger.debug("rollups refreshed: %s buckets", refreshed)
            rounds += 1
