"""A station's time series for its page: downsampled on the server, gaps kept as gaps.

Ranges up to two days are binned from raw readings at the station's sampling interval; up to
sixty days come from the hourly rollup, longer from the daily one. Every series is laid on
one regular grid of buckets; a bucket without data is NaN (``null`` in JSON), so lines
break there instead of being joined or dropped to zero. Times are the station's local wall
clock as epoch milliseconds, which is what a Bokeh datetime axis labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.rows import class_row, dict_row

from alerts import Severity
from telemetry import PARAMETERS_BY_ID, QCFlag
from viz.api.queries.thresholds import rules
from viz.palette import QC_COLOURS, SEVERITY_COLOURS

__all__ = ["Plan", "Threshold", "bands", "measured_thresholds", "plan", "series_json"]

RAW_SPAN: Final = timedelta(days=2)
HOURLY_SPAN: Final = timedelta(days=60)
_ORIGIN: Final = "2000-01-01 00:00:00+07"
# Marked on the chart: values not yet checked are not drawn as good ones.
_FLAGGED: Final = (QCFlag.UNKNOWN, QCFlag.SUSPECT, QCFlag.FAIL)
BEYOND: Final = 1e3  # how far the outermost band reaches past its threshold (canvas-safe)


@dataclass(frozen=True, slots=True)
class Plan:
    """Where a range's buckets come from and how wide they are."""

    table: str | None  # a rollup table, or None for raw readings
    step: timedelta


@dataclass(frozen=True, slots=True)
class Threshold:
    """A threshold rule on a measured parameter, as the station page draws it."""

    parameter: str
    direction: str
    tiers: tuple[float | None, float | None, float | None]  # advisory, warning, critical


@dataclass(frozen=True, slots=True)
class _Bucket:
    bucket: datetime
    parameter_id: int
    mean: float
    min: float
    max: float


@dataclass(frozen=True, slots=True)
class _Flagged:
    time: datetime
    parameter_id: int
    value: float
    qc: int


@dataclass(frozen=True, slots=True)
class _AlertMark:
    opened_at: datetime
    quantity: str
    value: float
    severity: int


def plan(span: timedelta, *, sampling_interval_s: int) -> Plan:
    """Pick the bucket source and width for a range."""
    if span <= RAW_SPAN:
        return Plan(table=None, step=timedelta(seconds=sampling_interval_s))
    if span <= HOURLY_SPAN:
        return Plan(table="readings_1h", step=timedelta(hours=1))
    return Plan(table="readings_1d", step=timedelta(days=1))


def _buckets(
    conn: psycopg.Connection[Any], station: str, start: datetime, end: datetime, p: Plan
) -> list[_Bucket]:
    query: sql.Composable
    args = {"s": station, "start": start, "end": end, "step": p.step, "origin": _ORIGIN}
    if p.table is None:
        query = sql.SQL(
            "SELECT date_bin(%(step)s, time, %(origin)s::timestamptz) AS bucket, parameter_id,"
            " avg(value) AS mean, min(value) AS min, max(value) AS max FROM readings"
            " WHERE station_id = %(s)s AND time >= %(start)s AND time < %(end)s GROUP BY 1, 2"
        )
    else:
        query = sql.SQL(
            "SELECT bucket, parameter_id, mean, min, max FROM {}"
            " WHERE station_id = %(s)s AND bucket >= %(start)s AND bucket < %(end)s"
        ).format(sql.Identifier(p.table))
    with conn.cursor(row_factory=class_row(_Bucket)) as cur:
        return cur.execute(query, args).fetchall()


def _local_ms(times: npt.NDArray[np.float64], zone: ZoneInfo) -> npt.NDArray[np.float64]:
    """UTC epoch seconds to local wall-clock epoch milliseconds."""
    if times.size == 0:
        return times
    first, last = (datetime.fromtimestamp(t, zone).utcoffset() for t in (times[0], times[-1]))
    if first == last and first is not None:
        constant: npt.NDArray[np.float64] = (times + first.total_seconds()) * 1000.0
        return constant
    offsets = [datetime.fromtimestamp(t, zone).utcoffset() for t in times.tolist()]
    varying: npt.NDArray[np.float64] = (
        times + np.array([o.total_seconds() if o else 0.0 for o in offsets])
    ) * 1000.0
    return varying


def _column(values: npt.NDArray[np.float64]) -> list[float | None]:
    """NaN as ``None`` (JSON ``null``): JSON has no NaN."""
    cells = values.astype(object)
    cells[np.isnan(values)] = None
    column: list[float | None] = cells.tolist()
    return column


def series_json(
    conn: psycopg.Connection[Any],
    station: str,
    *,
    start: datetime,
    end: datetime,
    sampling_interval_s: int,
    zone: ZoneInfo,
    parameters: list[str],
) -> dict[str, Any]:
    """The station page's data: gridded series, QC-flagged raw points and alert markers.

    Returns:
        ``series`` (``t`` plus ``<code>``, ``<code>_lo``, ``<code>_hi`` columns, ``null`` in
        gaps), ``flags`` and ``alerts`` (columns ``t``, ``code``, ``value``, ``colour``),
        ``bands`` (see :func:`bands`), ``step_s`` and ``points`` (buckets per series).
    """
    p = plan(end - start, sampling_interval_s=sampling_interval_s)
    step = p.step.total_seconds()
    origin = datetime.fromisoformat(_ORIGIN).timestamp()
    first = origin + np.floor((start.timestamp() - origin) / step) * step
    grid = np.arange(first, end.timestamp(), step)
    columns: dict[str, npt.NDArray[np.float64]] = {}
    for code in parameters:
        for suffix in ("", "_lo", "_hi"):
            columns[code + suffix] = np.full(grid.size, np.nan)
    for b in _buckets(conn, station, start, end, p):
        code = PARAMETERS_BY_ID[b.parameter_id].code
        i = round((b.bucket.timestamp() - first) / step)
        if code in parameters and 0 <= i < grid.size:
            columns[code][i], columns[code + "_lo"][i], columns[code + "_hi"][i] = (
                b.mean,
                b.min,
                b.max,
            )
    series: dict[str, Any] = {"t": _local_ms(grid, zone).tolist()}
    series |= {name: _column(values) for name, values in columns.items()}
    return {
        "series": series,
        "flags": _flags(conn, station, start, end, zone),
        "alerts": _alerts(conn, station, start, end, zone),
        "bands": bands(measured_thresholds(conn, station)),
        "step_s": step,
        "points": int(grid.size),
    }


@dataclass(frozen=True, slots=True)
class _Point:
    time: datetime
    code: str
    value: float
    colour: str


def _points(points: list[_Point], zone: ZoneInfo) -> dict[str, list[Any]]:
    times = np.array([p.time.timestamp() for p in points], dtype=np.float64)
    return {
        "t": _local_ms(times, zone).tolist(),
        "code": [p.code for p in points],
        "value": [p.value for p in points],
        "colour": [p.colour for p in points],
    }


def _flags(
    conn: psycopg.Connection[Any], station: str, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[str, list[Any]]:
    with conn.cursor(row_factory=class_row(_Flagged)) as cur:
        rows = cur.execute(
            "SELECT time, parameter_id, value, qc FROM readings WHERE station_id = %s"
            " AND time >= %s AND time < %s AND qc = ANY(%s) ORDER BY time LIMIT 5000",
            (station, start, end, [int(f) for f in _FLAGGED]),
        ).fetchall()
    found = [
        _Point(
            time=r.time,
            code=PARAMETERS_BY_ID[r.parameter_id].code,
            value=r.value,
            colour=QC_COLOURS[QCFlag(r.qc)],
        )
        for r in rows
    ]
    return _points(found, zone)


def _alerts(
    conn: psycopg.Connection[Any], station: str, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[str, list[Any]]:
    with conn.cursor(row_factory=class_row(_AlertMark)) as cur:
        rows = cur.execute(
            "SELECT a.opened_at, t.quantity, a.value, a.severity FROM alerts a"
            " JOIN threshold_profiles t ON t.station_id = a.station_id AND t.rule_id = a.rule_id"
            " WHERE a.station_id = %s AND a.opened_at < %s"
            " AND (a.resolved_at IS NULL OR a.resolved_at >= %s) AND a.value IS NOT NULL"
            " ORDER BY a.opened_at LIMIT 1000",
            (station, end, start),
        ).fetchall()
    found = [
        _Point(
            time=max(r.opened_at, start),
            code=r.quantity,
            value=r.value,
            colour=SEVERITY_COLOURS[Severity(r.severity)],
        )
        for r in rows
    ]
    return _points(found, zone)


def measured_thresholds(conn: psycopg.Connection[Any], station: str) -> list[Threshold]:
    """Threshold rules in force (overrides and edits included) on the measured parameters."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("SELECT parameters FROM stations WHERE id = %s", (station,)).fetchone()
    measured = set(row["parameters"]) if row else set()
    return [
        Threshold(
            parameter=r.quantity,
            direction=r.direction,
            tiers=(r.advisory, r.warning, r.critical),
        )
        for r in rules(conn, station_id=station)
        if r.family == "threshold" and r.quantity in measured
    ]


def bands(rules: list[Threshold]) -> dict[str, list[Any]]:
    """Horizontal zones beyond each tier of each rule: columns ``code``, ``y0``, ``y1``, ``colour``.

    A tier's zone runs from its threshold to the next tier's (or ``BEYOND`` past it).
    """
    out: dict[str, list[Any]] = {"code": [], "y0": [], "y1": [], "colour": []}
    for rule in rules:
        below = rule.direction == "below"
        for tier, value in enumerate(rule.tiers, start=1):
            if value is None:
                continue
            inner = next((v for v in rule.tiers[tier:] if v is not None), None)
            if inner is None:
                inner = value - BEYOND if below else value + BEYOND
            out["code"].append(rule.parameter)
            out["y0"].append(min(value, inner))
            out["y1"].append(max(value, inner))
            out["colour"].append(SEVERITY_COLOURS[Severity(tier)])
    return out
