"""What the alert engine reads from and writes to the database, column-wise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg

from alerts.config.compiled_rules import LimitEdit
from alerts.kernels.window import Batch

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_COLUMNS = (
    "SELECT coalesce(array_agg(station_id), '{}'), coalesce(array_agg(parameter_id), '{}'),"
    " coalesce(array_agg(extract(epoch FROM time)::float8), '{}'),"
    " coalesce(array_agg(value), '{}'), coalesce(array_agg(device_status), '{}')"
    " FROM readings"
)


def _batch(row: tuple[Any, ...] | None) -> Batch:
    stations, parameters, epochs, values, statuses = row or ([], [], [], [], [])
    return Batch(
        np.array(stations, dtype=np.str_),
        np.array(parameters, dtype=np.int64),
        np.array(epochs, dtype=np.float64),
        np.array(values, dtype=np.float64),
        np.array(statuses, dtype=np.int64),
    )


def recent(conn: psycopg.Connection[Any], stations: Sequence[str], *, since: float) -> Batch:
    """Readings of ``stations`` dated after ``since`` (to fill a window at start)."""
    row = conn.execute(
        _COLUMNS + " WHERE station_id = ANY(%s) AND time > to_timestamp(%s)",
        (list(stations), since),
    ).fetchone()
    return _batch(row)


def reported_before(
    conn: psycopg.Connection[Any], stations: Sequence[str], *, before: float
) -> set[str]:
    """Which of ``stations`` have a reading dated at or before ``before``."""
    rows = conn.execute(
        "SELECT s FROM unnest(%s::text[]) AS s WHERE EXISTS"
        " (SELECT 1 FROM readings r WHERE r.station_id = s AND r.time <= to_timestamp(%s))",
        (list(stations), before),
    ).fetchall()
    return {str(r[0]) for r in rows}


def threshold_edits(
    conn: psycopg.Connection[Any], stations: Sequence[str]
) -> dict[tuple[str, str], LimitEdit]:
    """Limits people changed through the API, by (station, rule).

    A station's override wins over an edit of its profile's rule, tier by tier, as the API
    shows them (``viz.api.thresholds``); a tier neither changed keeps the file's value.
    """
    rows = conn.execute(
        "SELECT t.station_id, t.rule_id, coalesce(o.advisory, e.advisory),"
        " coalesce(o.warning, e.warning), coalesce(o.critical, e.critical),"
        " coalesce(o.source, e.source)"
        " FROM threshold_profiles t"
        " LEFT JOIN profile_edits e ON e.profile = t.profile AND e.rule_id = t.rule_id"
        " LEFT JOIN threshold_overrides o ON o.station_id = t.station_id"
        "  AND o.rule_id = t.rule_id"
        " WHERE t.station_id = ANY(%s) AND (e.rule_id IS NOT NULL OR o.rule_id IS NOT NULL)",
        (list(stations),),
    ).fetchall()
    return {(r[0], r[1]): LimitEdit((r[2], r[3], r[4]), r[5]) for r in rows}


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
    """Readings of ``stations`` ingested in (after, until], whatever their own time."""
    row = conn.execute(
        _COLUMNS + " WHERE station_id = ANY(%s)"
        " AND ingested_at > to_timestamp(%s) AND ingested_at <= to_timestamp(%s)",
        (list(stations), after, until),
    ).fetchone()
    return _batch(row)


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

    The constant bounds around all the cells let PostgreSQL prune the partitions to the
    few days they span; without them each cell is probed in every partition.
    """
    if not len(epoch):
        return 0
    cursor = conn.execute(
        "UPDATE readings r SET qc = f.qc"
        " FROM unnest(%s::text[], %s::smallint[], %s::float8[], %s::smallint[])"
        "  AS f(station_id, parameter_id, epoch, qc)"
        " WHERE r.station_id = f.station_id AND r.parameter_id = f.parameter_id"
        "  AND r.time >= to_timestamp(f.epoch - %s) AND r.time < to_timestamp(f.epoch + %s)"
        "  AND r.time >= %s AND r.time < %s AND r.qc IS DISTINCT FROM f.qc",
        (list(station_id), parameter_id.tolist(), epoch.tolist(), flag.astype(np.int64).tolist(),
         half_step, half_step, _utc(float(epoch.min()) - half_step),
         _utc(float(epoch.max()) + half_step)),
    )  # fmt: skip
    return max(cursor.rowcount, 0)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def watermark(conn: psycopg.Connection[Any], worker: str) -> float | None:
    """The worker's stored watermark (epoch), if any."""
    row = conn.execute(
        "SELECT extract(epoch FROM watermark)::float8 FROM alert_watermarks WHERE worker = %s",
        (worker,),
    ).fetchone()
    return None if row is None else float(row[0])


def save_watermark(conn: psycopg.Connection[Any], worker: str, epoch: float) -> None:
    """Record how far the worker has evaluated (in the tick's transaction)."""
    conn.execute(
        "INSERT INTO alert_watermarks (worker, watermark) VALUES (%s, to_timestamp(%s))"
        " ON CONFLICT (worker) DO UPDATE SET watermark = excluded.watermark, updated_at = now()",
        (worker, epoch),
    )


def database_now(conn: psycopg.Connection[Any]) -> float:
    """The database's clock (ingested_at is stamped by it), as epoch seconds."""
    row = conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
    assert row is not None
    return float(row[0])


def sync_profiles(
    conn: psycopg.Connection[Any], rows: Sequence[tuple[Any, ...]], *, stations: Sequence[str]
) -> int:
    """Replace the compiled rules of ``stations`` in ``threshold_profiles`` (one transaction)."""
    with conn.transaction():
        conn.execute("DELETE FROM threshold_profiles WHERE station_id = ANY(%s)", (list(stations),))
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY threshold_profiles (station_id, rule_id, profile, rule_set, family,"
                " quantity, series, average_s, direction, units, advisory, warning, critical,"
                " advisory_source, warning_source, critical_source, min_duration_s, clear_band,"
                " clear_duration_s, max_gap_s, message_vi, message_en, source, verify, options,"
                " basis, override_source, digest) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
    return len(rows)
