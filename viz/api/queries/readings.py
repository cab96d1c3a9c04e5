"""Stored readings: raw pages in keyset order, time-bucket aggregates, export batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import class_row, dict_row
from pydantic import BaseModel

from telemetry import PARAMETERS_BY_ID, QCFlag

BATCH: Final = 5000
"""Rows an export holds in memory at once."""


class Bucket(StrEnum):
    """Aggregation bucket: the rollup (or continuous aggregate) it is read from."""

    MINUTE = "1m"
    HOUR = "1h"
    DAY = "1d"


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A row of ``readings`` as stored (parameter by id, flag as a number)."""

    time: datetime
    parameter_id: int
    value: float
    qc: int
    device_status: int


@dataclass(frozen=True, slots=True)
class _BucketRow:
    parameter_id: int
    bucket: list[datetime]
    n: list[int]
    mean: list[float]
    min: list[float]
    max: list[float]


class Reading(BaseModel):
    """One stored reading."""

    time: datetime
    parameter: str
    value: float
    qc: QCFlag
    device_status: int

    @classmethod
    def of(cls, row: StoredReading) -> Reading:
        """The reading a stored row holds, by parameter code."""
        return cls(
            time=row.time,
            parameter=PARAMETERS_BY_ID[row.parameter_id].code,
            value=row.value,
            qc=QCFlag(row.qc),
            device_status=row.device_status,
        )


class Series(BaseModel):
    """One parameter's buckets, column-wise (``bucket[i]`` goes with ``mean[i]``...)."""

    parameter: str
    unit: str
    bucket: list[datetime]
    n: list[int]
    mean: list[float]
    min: list[float]
    max: list[float]


_READINGS: Final = "SELECT time, parameter_id, value, qc, device_status FROM readings"


def raw_page(
    conn: psycopg.Connection[Any],
    station_id: str,
    *,
    start: datetime,
    end: datetime,
    parameter_id: int | None,
    after: tuple[datetime, int],
    limit: int,
) -> list[StoredReading]:
    """Up to ``limit`` readings ordered by parameter then time, after ``(time, parameter)``."""
    after_time, after_pid = after
    with conn.cursor(row_factory=class_row(StoredReading)) as cur:
        return cur.execute(
            _READINGS + " WHERE station_id = %(s)s AND time >= %(start)s AND time < %(end)s"
            " AND (%(p)s::smallint IS NULL OR parameter_id = %(p)s)"
            " AND (parameter_id, time) > (%(ap)s, %(at)s)"
            " ORDER BY parameter_id, time LIMIT %(limit)s",
            {
                "s": station_id,
                "start": start,
                "end": end,
                "p": parameter_id,
                "ap": after_pid,
                "at": after_time,
                "limit": limit,
            },
        ).fetchall()


def aggregate_series(
    conn: psycopg.Connection[Any],
    station_id: str,
    *,
    bucket: Bucket,
    start: datetime,
    end: datetime,
    parameter_id: int | None,
) -> list[Series]:
    """Each parameter's buckets from the rollup of ``bucket``, by parameter."""
    query = sql.SQL(
        "SELECT parameter_id, array_agg(bucket ORDER BY bucket) AS bucket,"
        " array_agg(n ORDER BY bucket) AS n, array_agg(mean ORDER BY bucket) AS mean,"
        " array_agg(min ORDER BY bucket) AS min, array_agg(max ORDER BY bucket) AS max FROM {}"
        " WHERE station_id = %(s)s AND bucket >= %(start)s AND bucket < %(end)s"
        " AND (%(p)s::smallint IS NULL OR parameter_id = %(p)s)"
        " GROUP BY parameter_id ORDER BY parameter_id"
    ).format(sql.Identifier(f"readings_{bucket.value}"))
    args = {"s": station_id, "start": start, "end": end, "p": parameter_id}
    with conn.cursor(row_factory=class_row(_BucketRow)) as cur:
        rows = cur.execute(query, args).fetchall()
    return [
        Series(
            parameter=PARAMETERS_BY_ID[r.parameter_id].code,
            unit=PARAMETERS_BY_ID[r.parameter_id].unit,
            bucket=r.bucket,
            n=r.n,
            mean=r.mean,
            min=r.min,
            max=r.max,
        )
        for r in rows
    ]


def export_batches(
    conn: psycopg.Connection[Any],
    station_id: str,
    start: datetime,
    end: datetime,
    parameter_id: int | None,
    *,
    time_limit_s: float,
) -> Iterator[list[StoredReading]]:
    """Batches in time order from a server-side cursor on the request's own connection.

    FastAPI keeps a request's dependencies (its pooled connection) until the streamed body
    is done, so an export uses that one connection: taking a second one from the pool would
    let a few concurrent exports hold the whole pool. No statement runs past the export's
    time limit, so a worker thread is never stuck in one longer than that.
    """
    params = {"station": station_id, "start": start, "end": end, "parameter": parameter_id}
    cursor = conn.cursor(name="export", row_factory=class_row(StoredReading))
    with conn.transaction(), cursor:
        timeout_ms = str(max(int(time_limit_s * 1000), 1))
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (timeout_ms,))
        cursor.execute(
            _READINGS + " WHERE station_id = %(station)s AND time >= %(start)s AND time < %(end)s"
            " AND (%(parameter)s::smallint IS NULL OR parameter_id = %(parameter)s)"
            " ORDER BY time, parameter_id",
            params,
        )
        while batch := cursor.fetchmany(BATCH):
            yield batch


LAG_WINDOW: Final = "1 hour"


def ingest_lag_s(conn: psycopg.Connection[Any]) -> float | None:
    """Seconds since the newest reading was stored; None when none was in the last LAG_WINDOW."""
    # Bounded, so the index on ingested_at reads only the last hour's entries of each
    # partition (a compressed TimescaleDB chunk is skipped by its sparse index).
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT extract(epoch FROM now() - max(ingested_at))::float8 AS lag FROM readings"
            " WHERE ingested_at > now() - %s::interval",
            (LAG_WINDOW,),
        ).fetchone()
    return row["lag"] if row else None
