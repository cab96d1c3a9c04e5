"""Writes batches of decoded messages to PostgreSQL in one transaction each.

Readings go by COPY into a session-local staging table, then one
``INSERT … ON CONFLICT DO NOTHING`` into ``readings``, so a redelivered message is
stored once. Rejected messages, station statuses, readings and the ``inbox_files`` ledger rows
of the files a batch came from commit together;
only then may the batch be acknowledged to the broker. A reject keeps the first bytes of its
payload with the full size, and adds to the day's count for its reason in the same
transaction, so the statistics outlive the rows (which the maintenance thread deletes).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple

import psycopg
from psycopg_pool import ConnectionPool

from ingest.inbound import Inbound, Rejection
from ingest.metrics import IngestMetrics
from stations import active_station_ids
from telemetry import PARAMETERS, Clock, ReadingsDocument, RejectReason, StatusDocument

logger = logging.getLogger(__name__)

_PARAMETER_IDS: Final = {code: str(p.id) for code, p in PARAMETERS.items()}

_STAGING_DDL: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS readings_staging ("
    " epoch float8, station_id text, parameter_id smallint, value float8,"
    " device_status smallint) ON COMMIT DELETE ROWS"
)
_MOVE_STAGED: Final = (
    "INSERT INTO readings (time, station_id, parameter_id, value, device_status)"
    " SELECT to_timestamp(epoch), station_id, parameter_id, value, device_status"
    " FROM readings_staging ON CONFLICT DO NOTHING"
)
_COUNT_REJECTS: Final = (
    "INSERT INTO reject_counts (day, reason, messages, payload_bytes)"
    " SELECT (now() AT TIME ZONE 'UTC')::date, reason, count(*), sum(size)"
    " FROM unnest(%s::text[], %s::bigint[]) AS r(reason, size)"
    " GROUP BY reason ORDER BY reason"  # the same lock order in every worker: no deadlocks
    " ON CONFLICT (day, reason) DO UPDATE SET"
    "  messages = reject_counts.messages + excluded.messages,"
    "  payload_bytes = reject_counts.payload_bytes + excluded.payload_bytes"
)
_DETAIL_MAX_CHARS: Final = 1_000
_LEDGER: Final = "COPY inbox_files (key, station_id, name, outcome, reason, readings) FROM STDIN"
_UPSERT_STATUS: Final = (
    "INSERT INTO station_status (station_id, state, reported_at, fw, battery_v)"
    " SELECT station_id, state, to_timestamp(epoch), fw, battery_v"
    " FROM unnest(%s::text[], %s::text[], %s::float8[], %s::text[], %s::float8[])"
    "  AS s(station_id, state, epoch, fw, battery_v)"
    " ON CONFLICT (station_id) DO UPDATE SET state = excluded.state,"
    "  reported_at = excluded.reported_at, fw = excluded.fw, battery_v = excluded.battery_v,"
    "  received_at = now()"
)


class _RejectRow(NamedTuple):
    """One row of ``rejects``, in its COPY column order."""

    topic: str
    reason: str
    detail: str
    payload: bytes
    payload_size: int


@dataclass(slots=True)
class BatchResult:
    """What one committed batch did."""

    stored: int = 0
    duplicates: int = 0
    rejected: list[RejectReason] = field(default_factory=list)


class ReadingsWriter:
    """Keeps one pooled connection (its staging table lives in the session) and writes through it.

    Args:
        pool: Where connections come from; a broken one goes back and a fresh one is taken.
        metrics: Counters to update after each commit.
        station_refresh_s: Least time between reloads of the active station list.
        reject_raw_max_bytes: How much of a rejected payload is kept.
    """

    def __init__(
        self,
        pool: ConnectionPool,
        *,
        metrics: IngestMetrics,
        station_refresh_s: float,
        reject_raw_max_bytes: int = 4096,
        clock: Clock,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._metrics = metrics
        self._station_refresh_s = station_refresh_s
        self._raw_max = reject_raw_max_bytes
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._stations: frozenset[str] = frozenset()
        self._stations_loaded_at = float("-inf")

    def close(self) -> None:
        """Give the connection back to the pool, if one is held."""
        if self._conn is not None:
            self._pool.putconn(self._conn)  # the pool discards it if it is broken
            self._conn = None

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        """The held connection.

        Raises:
            psycopg.OperationalError: No connection could be had (``PoolTimeout`` is one).
        """
        if self._conn is None:
            conn = self._pool.getconn(timeout=5)
            try:
                conn.execute(_STAGING_DDL)
                conn.commit()
            except psycopg.Error:
                self._pool.putconn(conn)
                raise
            self._conn = conn
            self._stations_loaded_at = float("-inf")
        return self._conn

    def _known(self, conn: psycopg.Connection[tuple[object, ...]], station_id: str) -> bool:
        if station_id in self._stations:
            return True
        now = time.monotonic()
        if now - self._stations_loaded_at >= self._station_refresh_s:
            self._stations = active_station_ids(conn)
            self._stations_loaded_at = now
        return station_id in self._stations

    def write(self, batch: Sequence[Inbound]) -> BatchResult:
        """Write one batch in one transaction and commit it.

        A batch the database refuses for its content (not for its availability) is written
        message by message, and the messages it still refuses become rejects.

        Raises:
            psycopg.OperationalError: The database is unreachable; nothing was committed and
                the caller retries the same batch.
        """
        conn = self._connection()
        try:
            result = self._write(conn, batch)
        except psycopg.OperationalError:
            self.close()
            raise
        except psycopg.DatabaseError:
            conn.rollback()
            logger.exception("batch of %d refused; writing message by message", len(batch))
            result = BatchResult()
            for item in batch:
                result = _merge(result, self._write_alone(conn, item))
        self._count(batch, result)
        return result

    def _write_alone(
        self, conn: psycopg.Connection[tuple[object, ...]], item: Inbound
    ) -> BatchResult:
        try:
            return self._write(conn, [item])
        except psycopg.OperationalError:
            self.close()
            raise
        except psycopg.DatabaseError as exc:
            conn.rollback()
            detail = f"the database refused the message: {type(exc).__name__}: {exc}"
            bad = Rejection(RejectReason.STORAGE_ERROR, detail)
            rejected = dataclasses.replace(item, body=bad, readings=0)
            return self._write(conn, [rejected])

    def _write(
        self, conn: psycopg.Connection[tuple[object, ...]], batch: Sequence[Inbound]
    ) -> BatchResult:
        result = BatchResult()
        lines: list[str] = []
        rejects: list[_RejectRow] = []
        statuses: dict[str, StatusDocument] = {}
        ledger: list[tuple[bytes, str, str, str, str | None, int]] = []
        for item in batch:
            body = item.body
            if not isinstance(body, Rejection) and (
                item.station_id is None or not self._known(conn, item.station_id)
            ):
                body = Rejection(
                    RejectReason.UNKNOWN_STATION,
                    f"station {item.station_id!r} is not registered or not active",
                )
            if isinstance(body, Rejection):
                rejects.append(
                    _RejectRow(
                        topic=_storable(item.topic),
                        reason=body.reason.value,
                        detail=_storable(body.detail[:_DETAIL_MAX_CHARS]),
                        payload=item.payload[: self._raw_max],
                        payload_size=len(item.payload),
                    )
                )
                result.rejected.append(body.reason)
            elif isinstance(body, StatusDocument):
                statuses[str(item.station_id)] = body
            else:
                _format_rows(body, lines)
            if item.file is not None:
                rejected = isinstance(body, Rejection)
                ledger.append(
                    (
                        item.file.key,
                        str(item.station_id),
                        _storable(item.file.name),
                        "rejected" if rejected else "stored",
                        body.reason.value if isinstance(body, Rejection) else None,
                        0 if rejected else item.readings,
                    )
                )
        with conn.cursor() as cur:
            if lines:
                with cur.copy(
                    "COPY readings_staging (epoch, station_id, parameter_id, value, device_status)"
                    " FROM STDIN"
                ) as copy:
                    copy.write("".join(lines))
                cur.execute(_MOVE_STAGED)
                result.stored = max(cur.rowcount, 0)
                result.duplicates = len(lines) - result.stored
            if rejects:
                with cur.copy(
                    "COPY rejects (topic, reason, detail, payload, payload_size) FROM STDIN"
                ) as copy:
                    for row in rejects:
                        copy.write_row(row)
                reasons = [r.reason for r in rejects]
                cur.execute(_COUNT_REJECTS, (reasons, [r.payload_size for r in rejects]))
            if ledger:
                with cur.copy(_LEDGER) as copy:
                    for entry in ledger:
                        copy.write_row(entry)
            if statuses:
                cur.execute(
                    _UPSERT_STATUS,
                    (
                        list(statuses),
                        [s.state.value for s in statuses.values()],
                        [s.epoch for s in statuses.values()],
                        [s.fw for s in statuses.values()],
                        [s.battery_v for s in statuses.values()],
                    ),
                )
        conn.commit()
        return result

    def _count(self, batch: Sequence[Inbound], result: BatchResult) -> None:
        metrics = self._metrics
        metrics.messages_received += len(batch)
        metrics.readings_stored += result.stored
        metrics.readings_duplicate += result.duplicates
        metrics.messages_rejected.update(r.value for r in result.rejected)
        metrics.batches += 1
        now = self._clock.time()
        for item in batch:
            if isinstance(item.body, ReadingsDocument):
                newest = max(sample.epoch for sample in item.body.samples)
                metrics.sample_age_seconds.observe(now - newest)


def _format_rows(doc: ReadingsDocument, lines: list[str]) -> None:
    """Append one COPY text line per reading (station ids need no escaping: see topics)."""
    append = lines.append
    station = doc.station
    for sample in doc.samples:
        prefix = f"{sample.epoch!r}\t{station}\t"
        status = sample.status
        for code, value in sample.values.items():
            append(f"{prefix}{_PARAMETER_IDS[code]}\t{value!r}\t{status.get(code, 0)}\n")


def _storable(text: str) -> str:
    """``text`` fit for a PostgreSQL text column, which cannot hold NUL."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _merge(a: BatchResult, b: BatchResult) -> BatchResult:
    return BatchResult(a.stored + b.stored, a.duplicates + b.duplicates, a.rejected + b.rejected)
