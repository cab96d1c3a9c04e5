"""What the alert engine reads from and writes to the database, column-wise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.rows import class_row, scalar_row

from alerts.config.compiled_rules import THRESHOLD_COLUMNS, LimitEdit, ThresholdRow
from alerts.kernels.window import Batch
from telemetry import QCFlag

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class _Columns:
    """Readings aggregated column-wise by :data:`_COLUMNS`."""

    station_id: list[str]
    parameter_id: list[int]
    epoch: list[float]
    value: list[float | None]
    device_status: list[int | None]

    def batch(self) -> Batch:
        return Batch(
            station_id=np.array(self.station_id, dtype=np.str_),
            parameter_id=np.array(self.parameter_id, dtype=np.int64),
            epoch=np.array(self.epoch, dtype=np.float64),
            value=np.array(self.value, dtype=np.float64),
            device_status=np.array(self.device_status, dtype=np.int64),
        )


_COLUMNS: Final = (
    "SELECT coalesce(array_agg(station_id), '{}') AS station_id,"
    " coalesce(array_agg(parameter_id), '{}') AS parameter_id,"
    " coalesce(array_agg(extract(epoch FROM time)::float8), '{}') AS epoch,"
    " coalesce(array_agg(value), '{}') AS value,"
    " coalesce(array_agg(device_status), '{}') AS device_status"
    " FROM readings"
)


def _batch(conn: psycopg.Connection[Any], query: str, params: Sequence[object]) -> Batch:
    with conn.cursor(row_factory=class_row(_Columns)) as cur:
        columns = cur.execute(_COLUMNS + query, params).fetchone()
    return _Columns([], [], [], [], []).batch() if columns is None else columns.batch()


@dataclass(frozen=True, slots=True)
class _Flagged:
    """Readings with their stored QC flags, column-wise."""

    station_id: list[str]
    parameter_id: list[int]
    epoch: list[float]
    value: list[float | None]
    device_status: list[int | None]
    qc: list[int]


def recent(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, since: float
) -> tuple[Batch, IntArray]:
    """Readings of ``stations`` dated after ``since`` (to fill a window at start), and the
    QC flag each has stored."""
    query = (
        _COLUMNS.replace(" FROM readings", ", coalesce(array_agg(qc), '{}') AS qc FROM readings")
        + " WHERE station_id = ANY(%s) AND time > to_timestamp(%s)"
    )
    with conn.cursor(row_factory=class_row(_Flagged)) as cur:
        found = cur.execute(query, (list(stations), since)).fetchone()
    if found is None:
        return Batch.empty(), np.zeros(0, dtype=np.int64)
    columns = _Columns(
        found.station_id, found.parameter_id, found.epoch, found.value, found.device_status
    )
    return columns.batch(), np.array(found.qc, dtype=np.int64)


def dated_between(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, after: float, until: float
) -> Batch:
    """Readings of ``stations`` dated in (after, until], whenever they arrived (backtests)."""
    return _batch(
        conn,
        " WHERE station_id = ANY(%s) AND time > to_timestamp(%s) AND time <= to_timestamp(%s)",
        (list(stations), after, until),
    )


def reported_before(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, before: float
) -> set[str]:
    """Which of ``stations`` have a reading dated at or before ``before``."""
    with conn.cursor(row_factory=scalar_row) as cur:
        found = cur.execute(
            "SELECT s FROM unnest(%s::text[]) AS s WHERE EXISTS"
            " (SELECT 1 FROM readings r WHERE r.station_id = s AND r.time <= to_timestamp(%s))",
            (list(stations), before),
        ).fetchall()
    return {str(station) for station in found}


@dataclass(frozen=True, slots=True)
class _Edit:
    """A (station, rule)'s limits as people changed them."""

    station_id: str
    rule_id: str
    advisory: float | None
    warning: float | None
    critical: float | None
    source: str

    def limits(self) -> LimitEdit:
        return LimitEdit(tiers=(self.advisory, self.warning, self.critical), source=self.source)


def threshold_edits(
    conn: psycopg.Connection[Any], stations: Sequence[str]
) -> dict[tuple[str, str], LimitEdit]:
    """Limits people changed through the API, by (station, rule).

    A station's override wins over an edit of its profile's rule, tier by tier, as the API
    shows them (``viz.api.thresholds``); a tier neither changed keeps the file's value.
    """
    with conn.cursor(row_factory=class_row(_Edit)) as cur:
        edits = cur.execute(
            "SELECT t.station_id, t.rule_id, coalesce(o.advisory, e.advisory) AS advisory,"
            " coalesce(o.warning, e.warning) AS warning,"
            " coalesce(o.critical, e.critical) AS critical,"
            " coalesce(o.source, e.source) AS source"
            " FROM threshold_profiles t"
            " LEFT JOIN profile_edits e ON e.profile = t.profile AND e.rule_id = t.rule_id"
            " LEFT JOIN threshold_overrides o ON o.station_id = t.station_id"
            "  AND o.rule_id = t.rule_id"
            " WHERE t.station_id = ANY(%s) AND (e.rule_id IS NOT NULL OR o.rule_id IS NOT NULL)",
            (list(stations),),
        ).fetchall()
    return {(e.station_id, e.rule_id): e.limits() for e in edits}


def edits_version(conn: psycopg.Connection[Any]) -> tuple[object, ...]:
    """Changes whenever a limit is edited, overridden or set back."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM profile_edits), (SELECT max(updated_at) FROM profile_edits),"
        " (SELECT count(*) FROM threshold_overrides),"
        " (SELECT max(updated_at) FROM threshold_overrides)"
    ).fetchone()
    return tuple(row or ())


def committed_between(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, after: float, until: float
) -> Batch:
    """Readings of ``stations`` ingested in (after, until], whatever their own time.

    Every station's new rows are read and the others dropped here: a bound array in SQL is
    searched element by element for every row, which made a tick's cost grow with the
    number of stations rather than with the new data.
    """
    batch = _batch(
        conn,
        " WHERE ingested_at > to_timestamp(%s) AND ingested_at <= to_timestamp(%s)",
        (after, until),
    )
    return batch.take(np.isin(batch.station_id, np.asarray(stations, dtype=np.str_)))


def write_qc(
    conn: psycopg.Connection[Any],
    *,
    station_id: Sequence[str],
    parameter_id: IntArray,
    epoch: FloatArray,
    flag: npt.NDArray[np.uint8],
    half_step: float,
) -> int:
    """Store QC flags by grid cell: every reading within half a step of ``epoch``.

    Every cell must be of one grid (one sampling interval, ``half_step`` its half). The
    constant bounds around all the cells let PostgreSQL prune the partitions to the few
    days they span; without them each cell is probed in every partition.
    """
    if not len(epoch):
        return 0
    cursor = conn.execute(
        "UPDATE readings r SET qc = f.qc"
        " FROM unnest(%(station_id)s::text[], %(parameter_id)s::smallint[],"
        "  %(epoch)s::float8[], %(qc)s::smallint[]) AS f(station_id, parameter_id, epoch, qc)"
        " WHERE r.station_id = f.station_id AND r.parameter_id = f.parameter_id"
        "  AND r.time >= to_timestamp(f.epoch - %(half)s)"
        "  AND r.time < to_timestamp(f.epoch + %(half)s)"
        "  AND r.time >= %(low)s AND r.time < %(high)s AND r.qc IS DISTINCT FROM f.qc",
        {
            "station_id": list(station_id),
            "parameter_id": parameter_id.tolist(),
            "epoch": epoch.tolist(),
            "qc": flag.astype(np.int64).tolist(),
            "half": half_step,
            "low": _utc(float(epoch.min()) - half_step),
            "high": _utc(float(epoch.max()) + half_step),
        },
    )
    return max(cursor.rowcount, 0)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def watermark(conn: psycopg.Connection[Any], worker: str) -> float | None:
    """The worker's stored watermark (epoch), if any."""
    with conn.cursor(row_factory=scalar_row) as cur:
        stored: float | None = cur.execute(
            "SELECT extract(epoch FROM watermark)::float8 FROM alert_watermarks WHERE worker = %s",
            (worker,),
        ).fetchone()
    return None if stored is None else float(stored)


def save_watermark(conn: psycopg.Connection[Any], worker: str, epoch: float) -> None:
    """Record how far the worker has evaluated (in the tick's transaction)."""
    conn.execute(
        "INSERT INTO alert_watermarks (worker, watermark) VALUES (%s, to_timestamp(%s))"
        " ON CONFLICT (worker) DO UPDATE SET watermark = excluded.watermark, updated_at = now()",
        (worker, epoch),
    )


def database_now(conn: psycopg.Connection[Any]) -> float:
    """The database's clock (ingested_at is stamped by it), as epoch seconds."""
    with conn.cursor(row_factory=scalar_row) as cur:
        now: float | None = cur.execute(
            "SELECT extract(epoch FROM clock_timestamp())::float8"
        ).fetchone()
    assert now is not None
    return float(now)


_COPY_THRESHOLDS: Final = sql.SQL("COPY threshold_profiles ({}) FROM STDIN").format(
    sql.SQL(", ").join(map(sql.Identifier, THRESHOLD_COLUMNS))
)


def sync_profiles(
    conn: psycopg.Connection[Any], rows: Sequence[ThresholdRow], *, stations: Sequence[str]
) -> int:
    """Replace the compiled rules of ``stations`` in ``threshold_profiles`` (one transaction)."""
    with conn.transaction():
        conn.execute("DELETE FROM threshold_profiles WHERE station_id = ANY(%s)", (list(stations),))
        with conn.cursor() as cur, cur.copy(_COPY_THRESHOLDS) as copy:
            for row in rows:
                copy.write_row([getattr(row, column) for column in THRESHOLD_COLUMNS])
    return len(rows)


def between(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, since: float, until: float
) -> Batch:
    """Readings of ``stations`` dated in [since, until] (the history pass's neighbours)."""
    return _batch(
        conn,
        " WHERE station_id = ANY(%s) AND time >= to_timestamp(%s) AND time <= to_timestamp(%s)",
        (list(stations), since, until),
    )


_QUEUE: Final = (
    " ON CONFLICT (station_id) DO UPDATE SET"
    " from_time = least(qc_backlog.from_time, excluded.from_time),"
    " to_time = greatest(qc_backlog.to_time, excluded.to_time)"
)


def queue_history(conn: psycopg.Connection[Any], history: Batch) -> int:
    """Queue readings older than the live window for the history pass, by station range.

    Returns:
        How many stations got (or widened) a range.
    """
    if not len(history):
        return 0
    ids, station = np.unique(history.station_id, return_inverse=True)
    first = np.full(len(ids), np.inf)
    last = np.full(len(ids), -np.inf)
    np.minimum.at(first, station, history.epoch)
    np.maximum.at(last, station, history.epoch)
    cursor = conn.execute(
        "INSERT INTO qc_backlog (station_id, from_time, to_time)"
        " SELECT s, to_timestamp(f), to_timestamp(t)"
        " FROM unnest(%s::text[], %s::float8[], %s::float8[]) AS q(s, f, t)" + _QUEUE,
        (ids.tolist(), first.tolist(), last.tolist()),
    )
    return max(cursor.rowcount, 0)


def queue_unevaluated(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, before: float
) -> int:
    """Queue the stored readings dated before ``before`` that were never evaluated (a first
    start over imported history).

    Returns:
        How many stations got (or widened) a range.
    """
    cursor = conn.execute(
        "INSERT INTO qc_backlog (station_id, from_time, to_time)"
        " SELECT station_id, min(time), max(time) FROM readings"
        " WHERE station_id = ANY(%s) AND time < to_timestamp(%s) AND qc = %s"
        " GROUP BY station_id" + _QUEUE,
        (list(stations), before, QCFlag.UNKNOWN),
    )
    return max(cursor.rowcount, 0)


@dataclass(frozen=True, slots=True)
class HistoryChunk:
    """A piece of a station's queued history, and where its queue row stands."""

    station_id: str
    start: float  # data time of the chunk's first reading to evaluate
    end: float  # and of its last
    queued_to: float  # the end of the station's queued range


def next_history(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, chunk_s: float
) -> HistoryChunk | None:
    """Lock the oldest queued range of ``stations`` and return its first ``chunk_s``.

    Another worker skips a row locked here; the caller finishes the chunk with
    :func:`history_done` in the same transaction.
    """
    with conn.cursor(row_factory=class_row(HistoryChunk)) as cur:
        return cur.execute(
            "SELECT station_id, extract(epoch FROM from_time)::float8 AS start,"
            " least(extract(epoch FROM to_time)::float8,"
            "  extract(epoch FROM from_time)::float8 + %s) AS end,"
            " extract(epoch FROM to_time)::float8 AS queued_to"
            " FROM qc_backlog WHERE station_id = ANY(%s)"
            " ORDER BY queued_at, station_id LIMIT 1 FOR UPDATE SKIP LOCKED",
            (chunk_s, list(stations)),
        ).fetchone()


def history_done(conn: psycopg.Connection[Any], chunk: HistoryChunk) -> None:
    """Take ``chunk`` off the queue: the rest of the range stays, or the row goes."""
    if chunk.end >= chunk.queued_to:
        conn.execute("DELETE FROM qc_backlog WHERE station_id = %s", (chunk.station_id,))
        return
    conn.execute(
        "UPDATE qc_backlog SET from_time = to_timestamp(%s) WHERE station_id = %s",
        (chunk.end, chunk.station_id),
    )
