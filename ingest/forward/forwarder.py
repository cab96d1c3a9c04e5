"""Passes each station's readings upstream as Circular 10 files, one per sampling instant.

Per receiver and station the database says how far forwarding got (``forward_state.sent_until``)
and which file is in flight (``forward_log`` row in state ``sending``, committed before the
upload starts). A file is marked ``sent`` only after the receiver confirmed it. After a crash the
file left ``sending`` is looked up on the receiver: there with its full size, it is marked sent;
otherwise it is sent again. So a restart neither skips nor resends a file. While a receiver is
down its stations wait, retried with doubling backoff, and catch up in time order; the failure
is kept in ``forward_state.last_error`` for the API and the dashboard.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from ingest.errors import ForwardError
from ingest.forward.receivers import Receiver, Upload
from telemetry import Clock, encode_files

logger = logging.getLogger(__name__)

_ERROR_MAX_CHARS: Final = 500
_PRUNE_EVERY_S: Final = 3600.0


@dataclass(frozen=True, slots=True)
class _Station:
    id: str
    code: str


@dataclass(slots=True)
class ForwardCounts:
    """What the forwarder did since it started."""

    sent: int = 0
    confirmed: int = 0
    failures: int = 0


@dataclass(slots=True)
class _Backoff:
    delay_s: float
    until: float = 0.0


class Forwarder:
    """Forwards to every receiver in turn.

    Args:
        conn: A connection of its own (autocommit off; each step commits).
        receivers: Where to.
        clock: What time it is (backoff, where a new receiver starts).
        batch_files: Files per station and round.
        since: How far back a (receiver, station) never forwarded before starts.
        retry_min_s: First wait after a failure.
        retry_max_s: Longest wait between tries.
        timeout_s: Socket timeout towards receivers.
        ca_file: Certificates trusted for FTPS.
        log_retention_days: Rows of files sent longer ago than this are deleted (hourly);
            ``forward_state`` keeps where each station stands.
    """

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        receivers: Iterable[Receiver],
        *,
        clock: Clock,
        batch_files: int,
        since: timedelta,
        retry_min_s: float,
        retry_max_s: float,
        timeout_s: float,
        ca_file: Path | None,
        log_retention_days: int,
    ) -> None:
        self._conn = conn
        self.receivers = list(receivers)
        self._clock = clock
        self._batch = batch_files
        self._since = since
        self._retry_min_s = retry_min_s
        self._retry_max_s = retry_max_s
        self._timeout_s = timeout_s
        self._ca_file = ca_file
        self._retention_days = log_retention_days
        self._pruned_at = float("-inf")
        self._backoff = {r.name: _Backoff(retry_min_s) for r in self.receivers}
        self.counts = ForwardCounts()

    def run(self, stop: threading.Event, *, poll_s: float, once: bool = False) -> None:
        """Forward until ``stop`` is set (``once``: until nothing is pending or a send fails)."""
        while not stop.is_set():
            if time.monotonic() - self._pruned_at >= _PRUNE_EVERY_S:
                self.prune()
            busy = False
            for receiver in self.receivers:
                if stop.is_set():
                    break
                busy |= self.round(receiver)
            if once and (self.counts.failures or not busy):
                return
            if not busy:
                stop.wait(poll_s)

    def prune(self) -> int:
        """Delete log rows of files sent past their retention; return how many."""
        deleted = self._conn.execute(
            "DELETE FROM forward_log WHERE state = 'sent'"
            " AND sent_at < now() - make_interval(days => %s)",
            (self._retention_days,),
        ).rowcount
        self._conn.commit()
        self._pruned_at = time.monotonic()
        return deleted

    def round(self, receiver: Receiver) -> bool:
        """Send up to a batch per station to ``receiver``; return whether anything was sent."""
        backoff = self._backoff[receiver.name]
        if backoff.until > self._clock.time():
            return False
        stations = self._stations(receiver)
        busy = False
        current: str | None = None
        try:
            upload: Upload | None = None
            try:
                for station in stations:
                    current = station.id
                    pending = self._pending(receiver, station)
                    if not pending:
                        continue
                    if upload is None:
                        upload = Upload(receiver, timeout_s=self._timeout_s, ca_file=self._ca_file)
                    busy |= self._send(upload, receiver, station, pending)
            finally:
                if upload is not None:
                    upload.close()
        except ForwardError as exc:
            self._conn.rollback()
            self.counts.failures += 1
            logger.warning(
                "forwarding to %s failed (%s); retry in %.0f s", receiver.name, exc, backoff.delay_s
            )
            affected = [s.id for s in stations] if exc.unreachable or current is None else [current]
            self._record_error(receiver, affected, str(exc))
            backoff.until = self._clock.time() + backoff.delay_s
            backoff.delay_s = min(backoff.delay_s * 2, self._retry_max_s)
            return False
        backoff.delay_s = self._retry_min_s
        return busy

    def _stations(self, receiver: Receiver) -> list[_Station]:
        with self._conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                "SELECT id, file_code FROM stations WHERE active ORDER BY id"
            ).fetchall()
        self._conn.commit()
        return [
            _Station(r["id"], r["file_code"])
            for r in rows
            if receiver.stations is None or r["id"] in receiver.stations
        ]

    def _pending(self, receiver: Receiver, station: _Station) -> list[tuple[datetime, bool]]:
        """The instants to send next, oldest first; ``True`` marks the one left in flight."""
        with self._conn.cursor(row_factory=dict_row) as cur:
            state = cur.execute(
                "SELECT sent_until FROM forward_state WHERE receiver = %s AND station_id = %s",
                (receiver.name, station.id),
            ).fetchone()
            flight = cur.execute(
                "SELECT file_time FROM forward_log WHERE receiver = %s AND station_id = %s"
                " AND state = 'sending' ORDER BY file_time",
                (receiver.name, station.id),
            ).fetchall()
            start = (
                state["sent_until"]
                if state is not None and state["sent_until"] is not None
                else self._clock.now() - self._since
            )
            times = cur.execute(
                "SELECT DISTINCT r.time FROM readings r JOIN parameters p ON p.id = r.parameter_id"
                " WHERE r.station_id = %s AND r.time > %s"
                " AND (%s::text[] IS NULL OR p.code = ANY(%s::text[]))"
                " ORDER BY r.time LIMIT %s",
                (station.id, start, self._codes(receiver), self._codes(receiver), self._batch),
            ).fetchall()
        self._conn.commit()
        in_flight = [(r["file_time"], True) for r in flight]
        flying = {t for t, _ in in_flight}
        return in_flight + [(r["time"], False) for r in times if r["time"] not in flying]

    def _codes(self, receiver: Receiver) -> list[str] | None:
        return sorted(receiver.parameters) if receiver.parameters is not None else None

    def _files(
        self, receiver: Receiver, station: _Station, times: list[datetime]
    ) -> dict[datetime, tuple[str, bytes]]:
        """The Circular 10 file of each instant, read in one query."""
        with self._conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                "SELECT r.time, p.code, r.value, r.device_status FROM readings r"
                " JOIN parameters p ON p.id = r.parameter_id"
                " WHERE r.station_id = %s AND r.time = ANY(%s)"
                " AND (%s::text[] IS NULL OR p.code = ANY(%s::text[])) ORDER BY r.time, p.id",
                (station.id, times, self._codes(receiver), self._codes(receiver)),
            ).fetchall()
        files = encode_files(
            station.code,
            [(r["time"], r["code"], r["value"], r["device_status"] or 0) for r in rows],
        )
        return dict(zip(sorted({r["time"] for r in rows}), files, strict=True))

    def _send(
        self,
        upload: Upload,
        receiver: Receiver,
        station: _Station,
        pending: list[tuple[datetime, bool]],
    ) -> bool:
        """Send ``pending`` in order, one commit per file.

        That commit marks the file before sent and this one sending; a crash after an upload
        leaves the file 'sending', and the next start finds it on the receiver.
        """
        key = (receiver.name, station.id)
        files = self._files(receiver, station, [at for at, _ in pending])
        try:
            for at, in_flight in pending:
                if at not in files:  # its readings were deleted meanwhile: nothing to send
                    logger.warning("%s at %s has no readings left to forward", station.id, at)
                    self._mark_sent(key, at)
                    continue
                name, content = files[at]
                if in_flight and upload.size(name) == len(content):
                    self._mark_sent(key, at)  # it arrived before the crash: not sent again
                    self._conn.commit()
                    self.counts.confirmed += 1
                    continue
                self._conn.execute(
                    "INSERT INTO forward_log (receiver, station_id, file_time, name, size, state)"
                    " VALUES (%s, %s, %s, %s, %s, 'sending')"
                    " ON CONFLICT (receiver, station_id, file_time) DO UPDATE SET"
                    "  state = 'sending', name = excluded.name, size = excluded.size,"
                    "  attempts = forward_log.attempts + 1",
                    (*key, at, name, len(content)),
                )
                self._conn.commit()
                upload.send(name, content)
                self._mark_sent(key, at)  # committed with the next file's 'sending'
                self.counts.sent += 1
        finally:
            if self._conn.info.transaction_status is TransactionStatus.INTRANS:
                self._conn.commit()
        return bool(pending)

    def _mark_sent(self, key: tuple[str, str], at: datetime) -> None:
        self._conn.execute(
            "UPDATE forward_log SET state = 'sent', sent_at = now()"
            " WHERE receiver = %s AND station_id = %s AND file_time = %s",
            (*key, at),
        )
        self._conn.execute(
            "INSERT INTO forward_state (receiver, station_id, sent_until, last_sent_at)"
            " VALUES (%s, %s, %s, now())"
            " ON CONFLICT (receiver, station_id) DO UPDATE SET"
            "  sent_until = greatest(forward_state.sent_until, excluded.sent_until),"
            "  last_sent_at = now(), last_error = NULL, last_error_at = NULL",
            (*key, at),
        )

    def _record_error(self, receiver: Receiver, affected: list[str], error: str) -> None:
        """Keep the failure on the station being sent, or on all when the receiver is away."""
        self._conn.execute(
            "INSERT INTO forward_state (receiver, station_id, last_error, last_error_at)"
            " SELECT %s, s, %s, now() FROM unnest(%s::text[]) AS s"
            " ON CONFLICT (receiver, station_id) DO UPDATE SET"
            "  last_error = excluded.last_error, last_error_at = excluded.last_error_at",
            (receiver.name, error[:_ERROR_MAX_CHARS], affected),
        )
        self._conn.commit()
