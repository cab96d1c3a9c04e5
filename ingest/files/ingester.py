"""Takes complete Circular 10 files into the database, a batch per transaction, then moves them.

For each batch: read the files, look their keys up in the ``inbox_files`` ledger, judge the new
ones (:mod:`ingest.files.validation`) and write them with the MQTT ingester's writer (readings,
rejects and ledger rows in one transaction), and only after the commit move each file to the
archive or to quarantine. Killed at any moment, the inbox finds the batch's files where they
were; those the ledger already knows are only moved on, so nothing is stored twice and
nothing is lost. While the database is away the batch waits and is retried with backoff.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from ingest.files.spool import Spool, SpoolFile
from ingest.files.validation import FileDecoder
from ingest.inbound import Inbound, Rejection, SourceFile
from ingest.writer import ReadingsWriter
from telemetry import Clock, ReadingsDocument

logger = logging.getLogger(__name__)

_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
_PRUNE_EVERY_S = 3600.0


@dataclass(slots=True)
class FileCounts:
    """What the inbox did since it started."""

    stored: int = 0
    rejected: int = 0
    again: int = 0
    readings: int = 0


@dataclass(frozen=True, slots=True)
class _Outcome:
    rejected: bool
    reason: str
    again: bool = False


class FileIngester:
    """Drains complete files from a source into the database.

    Args:
        pool: Database connections (one for the writer, one for ledger look-ups).
        writer: The MQTT ingester's writer.
        spool: Where files go once committed.
        source: Returns the complete files waiting, oldest sampling instant first.
        decoder: Judges each file.
        clock: What time it is (future-dated files).
        batch_max_files: Files per transaction.
        retry_max_s: Longest wait between database retries.
        reject_raw_max_bytes: How much of a too-large file is read (for its reject row).
        ledger_retention_days: Ledger rows older than this are deleted (hourly); a file sent
            again after that is judged again (its readings are still stored once).
    """

    def __init__(
        self,
        pool: ConnectionPool,
        *,
        writer: ReadingsWriter,
        spool: Spool,
        source: Callable[[], list[SpoolFile]],
        decoder: FileDecoder,
        clock: Clock,
        batch_max_files: int,
        retry_max_s: float,
        reject_raw_max_bytes: int,
        ledger_retention_days: int,
    ) -> None:
        self._pool = pool
        self._writer = writer
        self._spool = spool
        self._source = source
        self._decoder = decoder
        self._clock = clock
        self._batch = batch_max_files
        self._retry_max_s = retry_max_s
        self._raw_max = reject_raw_max_bytes
        self._retention_days = ledger_retention_days
        self._pruned_at = float("-inf")
        self.counts = FileCounts()

    def run(self, stop: threading.Event, wake: threading.Event, *, poll_s: float) -> None:
        """Take files until ``stop`` is set; ``wake`` says new files may be waiting."""
        while not stop.is_set():
            wake.clear()
            if time.monotonic() - self._pruned_at >= _PRUNE_EVERY_S:
                self.prune()
            if not self.drain(stop):
                wake.wait(poll_s)

    def prune(self) -> int:
        """Delete ledger rows past their retention; return how many."""
        with self._pool.connection() as conn:
            deleted = conn.execute(
                "DELETE FROM inbox_files WHERE received_at < now() - make_interval(days => %s)",
                (self._retention_days,),
            ).rowcount
        self._pruned_at = time.monotonic()
        return deleted

    def drain(self, stop: threading.Event | None = None) -> int:
        """Take the files waiting now, a batch per transaction; return how many."""
        files = self._source()
        for first in range(0, len(files), self._batch):
            if stop is not None and stop.is_set():
                return first
            if not self._take(files[first : first + self._batch], stop):
                return first
        return len(files)

    def _take(self, files: list[SpoolFile], stop: threading.Event | None) -> bool:
        """Commit one batch (retrying while the database is away), then move its files."""
        delay = 0.5
        while True:
            try:
                outcomes = self._commit(files)
                break
            except psycopg.OperationalError as exc:
                if stop is not None and stop.is_set():
                    return False
                logger.warning(
                    "database unavailable (%s); %d files wait, retry in %.1f s",
                    exc,
                    len(files),
                    delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
        for item in files:
            outcome = outcomes.get(item.path)
            if outcome is None:
                continue  # vanished before it was read: nothing was stored from it
            if outcome.rejected:
                self._spool.quarantine_file(item, outcome.reason)
            else:
                self._spool.archive_file(item, again=outcome.again)
        return True

    def _codes(self) -> dict[str, str]:
        with (
            self._pool.connection() as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            rows = cur.execute("SELECT id, file_code FROM stations WHERE active").fetchall()
        return {row["id"]: row["file_code"] for row in rows}

    def _known(self, keys: list[bytes]) -> dict[bytes, _Outcome]:
        with (
            self._pool.connection() as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            rows = cur.execute(
                "SELECT key, outcome, reason FROM inbox_files WHERE key = ANY(%s)", (keys,)
            ).fetchall()
        return {
            bytes(r["key"]): _Outcome(r["outcome"] == "rejected", r["reason"] or "") for r in rows
        }

    def _read(self, item: SpoolFile) -> tuple[bytes, int] | None:
        """The file's bytes (the first ones only when it is too large) and its size."""
        try:
            fd = os.open(item.path, _READ_FLAGS)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            limit = self._decoder.max_file_bytes
            return handle.read(limit + 1 if size <= limit else self._raw_max), size

    def _commit(self, files: list[SpoolFile]) -> dict[Path, _Outcome]:
        """Write the new files of the batch; return each file's outcome by path."""
        read: list[tuple[SpoolFile, bytes, int, bytes]] = []
        for item in files:
            got = self._read(item)
            if got is None:
                continue
            content, size = got
            key = hashlib.sha256(
                b"\0".join(
                    [item.station_id.encode(), item.basename.encode(), b"%d" % size, content]
                )
            ).digest()
            read.append((item, content, size, key))
        known = self._known([key for *_, key in read])
        codes = self._codes()
        now = self._clock.time()
        outcomes: dict[Path, _Outcome] = {}
        fresh: dict[bytes, Inbound] = {}
        written: set[Path] = set()  # the one file per new key that is written
        details: dict[bytes, str] = {}
        for item, content, size, key in read:
            if key in known or key in fresh:
                continue
            written.add(item.path)
            body = self._decoder.decode(
                station_id=item.station_id,
                code=codes.get(item.station_id),
                name=item.basename,
                content=content,
                size=size,
                received_at=now,
            )
            readings = len(body.samples[0].values) if isinstance(body, ReadingsDocument) else 0
            if isinstance(body, Rejection):
                details[key] = f"{body.reason.value}: {body.detail}"
            fresh[key] = Inbound(
                mid=0,
                qos=0,
                generation=0,
                topic=f"file:{item.station_id}/{item.name}",
                payload=content,
                station_id=item.station_id,
                body=body,
                readings=readings,
                file=SourceFile(key=key, name=item.name),
            )
        batch = list(fresh.values())
        if batch:
            result = self._writer.write(batch)
            self.counts.readings += result.stored
            known |= self._known(list(fresh))  # what the writer decided (unknown station too)
        for item, _content, _size, key in read:
            outcome = known.get(key)
            if outcome is None:  # not in the ledger: left where it is for the next pass
                continue
            again = item.path not in written
            outcomes[item.path] = _Outcome(
                outcome.rejected, details.get(key, outcome.reason), again=again
            )
            if again:
                self.counts.again += 1
            elif outcome.rejected:
                self.counts.rejected += 1
                reason = outcomes[item.path].reason
                logger.info("rejected %s of %s: %s", item.name, item.station_id, reason)
            else:
                self.counts.stored += 1
        return outcomes
