"""Which alert worker evaluates which station: leases in PostgreSQL, balanced and fenced.

Every tick a worker, in the tick's own transaction:

1. beats (its row in ``alert_workers`` lives ``lease_s`` more) and counts the live workers;
2. renews and locks the leases it holds (``UPDATE … WHERE owner = me``);
3. gives back what it holds beyond its fair share (the stations over the live workers,
   rounded up), or takes free and expired leases up to that share with
   ``FOR UPDATE SKIP LOCKED``.

The tick's writes commit with those row locks held, so no other worker can take one of its
stations during the tick, and a worker that lost a lease while it was stopped (another took
it once it expired) finds it gone at its next tick and neither evaluates nor writes for that
station. Safety comes from the locks and the owner column; the lease times (the workers'
clocks) only decide when a silent worker's stations may be taken. A worker killed outright
is counted out after ``lease_s`` and its stations are taken by the others' next ticks.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import scalar_row

logger = logging.getLogger(__name__)


def worker_name() -> str:
    """A name no other worker, here or on another host, has had: host, process, random."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


def fair_share(stations: int, workers: int) -> int:
    """How many stations one of ``workers`` live workers may hold (the rest left over)."""
    return math.ceil(stations / max(workers, 1))


class Leases:
    """One worker's leases on the stations it may evaluate.

    Args:
        worker: This worker's name, unique among all workers ever run (:func:`worker_name`).
        stations: Every station id the workers share.
        lease_s: How long a lease and a beat last without being renewed; longer than a tick.
    """

    def __init__(self, worker: str, stations: Sequence[str], *, lease_s: float) -> None:
        self.worker = worker
        self.stations = sorted(stations)
        self.lease_s = lease_s
        self._listed = False

    def claim(self, conn: psycopg.Connection[Any], *, now: float) -> frozenset[str]:
        """Renew, balance and lock this worker's leases in the caller's transaction.

        Returns:
            The stations this worker owns until the caller's transaction ends.
        """
        until = _utc(now + self.lease_s)
        if not self._listed:
            # Only the missing ones: a conflict with a lease another tick has locked would
            # wait for that tick to end.
            conn.execute(
                "INSERT INTO station_leases (station_id) SELECT s FROM unnest(%s::text[]) AS s"
                " WHERE NOT EXISTS (SELECT 1 FROM station_leases l WHERE l.station_id = s)"
                " ON CONFLICT DO NOTHING",
                (self.stations,),
            )
            self._listed = True
        conn.execute(
            "WITH gone AS (DELETE FROM alert_workers WHERE worker IN"
            "  (SELECT worker FROM alert_workers WHERE expires_at <= %(now)s"
            "   FOR UPDATE SKIP LOCKED) RETURNING worker)"
            " DELETE FROM alert_watermarks WHERE worker IN (SELECT worker FROM gone)",
            {"now": _utc(now)},
        )
        conn.execute(
            "INSERT INTO alert_workers (worker, expires_at) VALUES (%s, %s)"
            " ON CONFLICT (worker) DO UPDATE SET expires_at = excluded.expires_at",
            (self.worker, until),
        )
        with conn.cursor(row_factory=scalar_row) as cur:
            live = cur.execute(
                "SELECT count(*) FROM alert_workers WHERE expires_at > %s", (_utc(now),)
            ).fetchone()
            held = sorted(
                cur.execute(
                    "UPDATE station_leases SET expires_at = %s"
                    " WHERE owner = %s AND station_id = ANY(%s) RETURNING station_id",
                    (until, self.worker, self.stations),
                ).fetchall()
            )
            share = fair_share(len(self.stations), int(live or 1))
            if len(held) > share:
                extra = held[share:]
                cur.execute(
                    "UPDATE station_leases SET owner = NULL, expires_at = '-infinity'"
                    " WHERE station_id = ANY(%s) AND owner = %s",
                    (extra, self.worker),
                )
                held = held[:share]
            elif len(held) < share:
                held += cur.execute(
                    "WITH free AS (SELECT station_id FROM station_leases"
                    "  WHERE station_id = ANY(%s) AND (owner IS NULL OR expires_at <= %s)"
                    "  ORDER BY station_id LIMIT %s FOR UPDATE SKIP LOCKED)"
                    " UPDATE station_leases l SET owner = %s, expires_at = %s FROM free"
                    " WHERE l.station_id = free.station_id RETURNING l.station_id",
                    (self.stations, _utc(now), share - len(held), self.worker, until),
                ).fetchall()
        return frozenset(str(s) for s in held)

    def renew(self, conn: psycopg.Connection[Any], *, now: float) -> None:
        """Extend the beat and the leases held to ``now`` + ``lease_s`` (before a commit)."""
        until = _utc(now + self.lease_s)
        conn.execute(
            "UPDATE alert_workers SET expires_at = %s WHERE worker = %s", (until, self.worker)
        )
        conn.execute(
            "UPDATE station_leases SET expires_at = %s WHERE owner = %s", (until, self.worker)
        )

    def holds(self, conn: psycopg.Connection[Any], station_id: str) -> bool:
        """Whether this worker holds ``station_id``'s lease; if so it stays locked until the
        caller's transaction ends (work done between ticks is fenced like a tick)."""
        found = conn.execute(
            "SELECT 1 FROM station_leases WHERE station_id = %s AND owner = %s FOR UPDATE",
            (station_id, self.worker),
        ).fetchone()
        return found is not None

    def release(self, conn: psycopg.Connection[Any]) -> None:
        """Give every lease back and leave the live workers (a clean stop); commits."""
        conn.execute(
            "UPDATE station_leases SET owner = NULL, expires_at = '-infinity' WHERE owner = %s",
            (self.worker,),
        )
        conn.execute("DELETE FROM alert_watermarks WHERE worker = %s", (self.worker,))
        conn.execute("DELETE FROM alert_workers WHERE worker = %s", (self.worker,))
        conn.commit()


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
