"""Latest values of stations, with QC flags, device status, station status and VN_WQI."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from pydantic import BaseModel

from telemetry import PARAMETERS, PARAMETERS_BY_ID, QCFlag
from viz.wqi import band, vn_wqi

# One index probe per (station, parameter) the station measures, newest first.
_LATEST = (
    "SELECT s.id, r.parameter_id, r.time, r.value, r.qc, r.device_status"
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
    for sid, pid, time, value, qc, status in conn.execute(_LATEST, {"ids": ids}):
        p = PARAMETERS_BY_ID[pid]
        by_station[sid].append(
            LatestValue(
                parameter=p.code,
                name_vi=p.name_vi,
                name_en=p.name_en,
                unit=p.unit,
                time=time,
                value=value,
                qc=QCFlag(qc),
                device_status=status,
            )
        )
    stations = conn.execute(_STATIONS, {"ids": ids}).fetchall()
    indices = _indices([by_station[s[0]] for s in stations])
    return [
        StationLatest(
            station_id=sid,
            name_vi=vi,
            name_en=en,
            status=state,
            status_at=at,
            values=by_station[sid],
            wqi=wqi,
        )
        for (sid, vi, en, state, at), wqi in zip(stations, indices, strict=True)
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
