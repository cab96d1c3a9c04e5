"""Periodic database upkeep done by ingest workers: partitions ahead, rollups, old rejects.

Several workers may run it; an advisory lock lets one of them do each round of rollups, and
old rejects are deleted in small batches that skip rows another worker is deleting. On
TimescaleDB both SQL functions are no-ops (chunks and continuous aggregates look after
themselves), so the same code runs on both flavours.
"""

from __future__ import annotations

import logging
import threading
from typing import Final

import psycopg
from psycopg.rows import scalar_row
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)

_LOCK_KEY: Final = 0x41515752  # "AQWR"
_PARTITIONS_EVERY_ROUNDS: Final = 120
_PURGE_BATCH: Final = 1_000
_PURGE_BATCHES_PER_ROUND: Final = 10
_PURGE_REJECTS: Final = (
    "DELETE FROM rejects WHERE id IN (SELECT id FROM rejects"
    " WHERE received_at < now() - make_interval(days => %s)"
    " ORDER BY received_at LIMIT %s FOR UPDATE SKIP LOCKED)"
)


class Housekeeping:
    """Runs rollup refreshes, reject retention and (less often) partition creation on a timer.

    Args:
        pool: Where its connection is borrowed from, one round at a time.
        interval_s: Seconds between rounds.
        settle_s: Rollups cover rows ingested at least this long ago.
        reject_retention_days: Rejects older than this are deleted.
    """

    def __init__(
        self,
        pool: ConnectionPool,
        *,
        interval_s: float,
        settle_s: float,
        reject_retention_days: int = 30,
    ) -> None:
        self._pool = pool
        self._interval_s = interval_s
        self._settle_s = settle_s
        self._reject_retention_days = reject_retention_days
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
        with self._pool.connection(timeout=10) as conn, conn.cursor(row_factory=scalar_row) as cur:
            if not cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (_LOCK_KEY,)).fetchone():
                return None
            if partitions:
                cur.execute("SELECT aquawatch_ensure_partitions(1, 14)")
            buckets = cur.execute(
                "SELECT aquawatch_refresh_rollups(make_interval(secs => %s))", (self._settle_s,)
            ).fetchone()
            return int(buckets) if buckets is not None else 0

    def purge_rejects(self) -> int:
        """Delete rejects past their retention, a small batch per transaction; return how many.

        At most a few batches a round, so that a long backlog of old rows (after the retention
        was shortened, say) is worked off over several rounds instead of in one long delete.
        """
        deleted = 0
        for _ in range(_PURGE_BATCHES_PER_ROUND):
            with self._pool.connection(timeout=10) as conn:
                cur = conn.execute(_PURGE_REJECTS, (self._reject_retention_days, _PURGE_BATCH))
                batch = max(cur.rowcount, 0)
            deleted += batch
            if batch < _PURGE_BATCH:
                break
        return deleted

    def _run(self) -> None:
        rounds = 0
        while not self._stop.wait(self._interval_s):
            try:
                refreshed = self.run_once(partitions=rounds % _PARTITIONS_EVERY_ROUNDS == 0)
                purged = self.purge_rejects()
            except psycopg.Error:
                logger.exception("maintenance round failed; retrying next round")
            else:
                logger.debug(
                    "rollups refreshed: %s buckets; old rejects deleted: %d", refreshed, purged
                )
            rounds += 1
