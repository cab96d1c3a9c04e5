"""Latest values of stations, with QC flags, device status, station status and VN_WQI."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import class_row
from pydantic import BaseModel

from telemetry import PARAMETERS, PARAMETERS_BY_ID, QCFlag
from viz.wqi import band, vn_wqi

# One index probe per (station, parameter) the station measures, newest first.
_LATEST = (
    "SELECT s.id AS station_id, r.parameter_id, r.time, r.value, r.qc, r.device_status"
    " FROM stations s"
    " CROSS JOIN LATERAL unnest(s.parameters) AS u(code)"
    " JOIN parameters p ON p.code = u.code"
    " CROSS JOIN LATERAL (SELECT parameter_id, time, value, qc, device_status FROM readings r"
    "   WHERE r.station_id = s.id AND r.parameter_id = p.id ORDER BY time DESC LIMIT 1) r"
    " WHERE s.active AND (%(ids)s::text[] IS NULL OR s.id = ANY(%(ids)s))"
)
_STATIONS = (
    "SELECT s.id, s.name_vi, s.name_en, st.state, st.received_at FROM stations s"
    " LEFT JOIN station_status st ON st.station_id = s.id"
    " WHERE s.active AND (%(ids)s::text[] IS NULL OR s.id = ANY(%(ids)s)) ORDER BY s.id"
)


@dataclass(frozen=True, slots=True)
class _Newest:
    station_id: str
    parameter_id: int
    time: datetime
    value: float
    qc: int
    device_status: int


@dataclass(frozen=True, slots=True)
class _Station:
    id: str
    name_vi: str
    name_en: str
    state: str | None
    received_at: datetime | None


class LatestValue(BaseModel):
    """A parameter's newest reading at a station."""

    parameter: str
    name_vi: str
    name_en: str
    unit: str
    time: datetime
    value: float
    qc: QCFlag
    device_status: int


class Wqi(BaseModel):
    """VN_WQI from the latest values, with its band and display colour."""

    value: int
    band_vi: str
    band_en: str
    rgb: tuple[int, int, int]


class StationLatest(BaseModel):
    """A station's latest values and status."""

    station_id: str
    name_vi: str
    name_en: str
    status: str | None
    status_at: datetime | None
    values: list[LatestValue]
    wqi: Wqi | None


def latest(
    conn: psycopg.Connection[Any], station_ids: Sequence[str] | None = None
) -> list[StationLatest]:
    """Latest values of the active stations (all, or those named)."""
    ids = list(station_ids) if station_ids is not None else None
    by_station: defaultdict[str, list[LatestValue]] = defaultdict(list)
    with conn.cursor(row_factory=class_row(_Newest)) as cur:
        for r in cur.execute(_LATEST, {"ids": ids}):
            p = PARAMETERS_BY_ID[r.parameter_id]
            by_station[r.station_id].append(
                LatestValue(
                    parameter=p.code,
                    name_vi=p.name_vi,
                    name_en=p.name_en,
                    unit=p.unit,
                    time=r.time,
                    value=r.value,
                    qc=QCFlag(r.qc),
                    device_status=r.device_status,
                )
            )
    with conn.cursor(row_factory=class_row(_Station)) as cur:
        stations = cur.execute(_STATIONS, {"ids": ids}).fetchall()
    indices = _indices([by_station[s.id] for s in stations])
    return [
        StationLatest(
            station_id=s.id,
            name_vi=s.name_vi,
            name_en=s.name_en,
            status=s.state,
            status_at=s.received_at,
            values=by_station[s.id],
            wqi=wqi,
        )
        for s, wqi in zip(stations, indices, strict=True)
    ]


def _indices(values: list[list[LatestValue]]) -> list[Wqi | None]:
    """VN_WQI of each station from its good or not-yet-evaluated values."""
    usable = (QCFlag.GOOD, QCFlag.UNKNOWN)
    columns = {code: np.full(len(values), np.nan) for code in PARAMETERS}
    for i, station in enumerate(values):
        for v in station:
            if v.qc in usable and v.device_status == 0:
                columns[v.parameter][i] = v.value
    result: list[Wqi | None] = []
    for index in vn_wqi(columns):
        if np.isnan(index):
            result.append(None)
            continue
        b = band(int(index))
        result.append(Wqi(value=int(index), band_vi=b.name_vi, band_en=b.name_en, rgb=b.rgb))
    return result
