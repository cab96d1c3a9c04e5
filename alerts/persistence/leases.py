"""Which alert worker evaluates which station: leases in PostgreSQL, balanced and fenced.

A worker beats in ``alert_workers`` (its row lives ``lease_s`` more at every tick) and owns
the stations ``station_leases`` names it for, as long as that row exists. Every tick, in
the tick's own transaction, a worker:

1. beats: upserting its row locks it until the tick commits;
2. forgets the workers whose beat ran out, ``FOR UPDATE SKIP LOCKED``: their rows and
   watermarks are deleted and their stations freed, in that one statement's transaction;
3. gives back what it holds beyond its fair share (the stations over the live workers,
   rounded up), or takes free stations up to that share with ``FOR UPDATE SKIP LOCKED``.

A worker's stations can be taken only once its row is deleted, and its row cannot be
deleted while one of its ticks (or its work between ticks, :meth:`Leases.holds`) holds the
row's lock: so no other worker takes a station during a tick, and a worker that was
stopped past its lease finds at its next tick that its row was deleted and its stations
gone, and neither evaluates nor writes for them. A tick costs one row, whatever the number
of stations. The lease times (the workers' clocks) only decide when a silent worker's
stations may be taken; who may write never depends on them.
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
        self._known = frozenset(self.stations)
        self.lease_s = lease_s
        self._listed = False
        self._mine: set[str] = set()  # the leases this worker last knew it held

    def claim(self, conn: psycopg.Connection[Any], *, now: float) -> frozenset[str]:
        """Beat, balance and lock this worker's leases in the caller's transaction.

        Returns:
            The stations this worker owns until the caller's transaction ends.
        """
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
        self.renew(conn, now=now)
        conn.execute(
            "WITH gone AS (DELETE FROM alert_workers WHERE worker IN"
            "  (SELECT worker FROM alert_workers WHERE expires_at <= %(now)s"
            "   AND worker <> %(me)s FOR UPDATE SKIP LOCKED) RETURNING worker),"
            " freed AS (UPDATE station_leases SET owner = NULL"
            "  WHERE owner IN (SELECT worker FROM gone))"
            " DELETE FROM alert_watermarks WHERE worker IN (SELECT worker FROM gone)",
            {"now": _utc(now), "me": self.worker},
        )
        with conn.cursor(row_factory=scalar_row) as cur:
            live = cur.execute(
                "SELECT count(*) FROM alert_workers WHERE expires_at > %s", (_utc(now),)
            ).fetchone()
            # Only this worker changes what it holds while its row lives, so its list is read
            # again only when their number says otherwise: a tick that changed them rolled
            # back, or its row was deleted and they were freed.
            count = cur.execute(
                "SELECT count(*) FROM station_leases WHERE owner = %s", (self.worker,)
            ).fetchone()
            if count != len(self._mine):
                self._mine = {
                    str(s)
                    for s in cur.execute(
                        "SELECT station_id FROM station_leases WHERE owner = %s", (self.worker,)
                    )
                }
            held = sorted(s for s in self._mine if s in self._known)
            share = fair_share(len(self.stations), int(live or 1))
            if len(held) > share:
                extra = held[share:]
                cur.execute(
                    "UPDATE station_leases SET owner = NULL"
                    " WHERE station_id = ANY(%s) AND owner = %s",
                    (extra, self.worker),
                )
                held = held[:share]
                self._mine.difference_update(extra)
            elif len(held) < share:
                # Free: no owner, or one whose row is gone (never left by this module).
                taken = cur.execute(
                    "WITH free AS (SELECT station_id FROM station_leases l"
                    "  WHERE station_id = ANY(%s) AND (owner IS NULL OR NOT EXISTS"
                    "   (SELECT 1 FROM alert_workers w WHERE w.worker = l.owner))"
                    "  ORDER BY station_id LIMIT %s FOR UPDATE SKIP LOCKED)"
                    " UPDATE station_leases l SET owner = %s FROM free"
                    " WHERE l.station_id = free.station_id RETURNING l.station_id",
                    (self.stations, share - len(held), self.worker),
                ).fetchall()
                held += [str(s) for s in taken]
                self._mine.update(held)
        return frozenset(str(s) for s in held)

    def renew(self, conn: psycopg.Connection[Any], *, now: float) -> None:
        """Beat to ``now`` + ``lease_s``, locking this worker's row (and so its leases)
        until the caller's transaction ends."""
        conn.execute(
            "INSERT INTO alert_workers (worker, expires_at) VALUES (%s, %s)"
            " ON CONFLICT (worker) DO UPDATE SET expires_at = excluded.expires_at",
            (self.worker, _utc(now + self.lease_s)),
        )

    def holds(self, conn: psycopg.Connection[Any], station_id: str) -> bool:
        """Whether this worker holds ``station_id``'s lease; if so it stays this worker's
        until the caller's transaction ends (work done between ticks is fenced like a tick)."""
        found = conn.execute(
            "SELECT 1 FROM alert_workers w JOIN station_leases l ON l.owner = w.worker"
            " WHERE w.worker = %s AND l.station_id = %s FOR UPDATE OF w",
            (self.worker, station_id),
        ).fetchone()
        return found is not None

    def release(self, conn: psycopg.Connection[Any]) -> None:
        """Give every lease back and leave the live workers (a clean stop); commits."""
        conn.execute("UPDATE station_leases SET owner = NULL WHERE owner = %s", (self.worker,))
        conn.execute("DELETE FROM alert_watermarks WHERE worker = %s", (self.worker,))
        conn.execute("DELETE FROM alert_workers WHERE worker = %s", (self.worker,))
        conn.commit()
        self._mine = set()


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
