"""The overview's data: each station's worst open alert and data quality, and the open alerts.

A station's colour on the map is its worst open alert (grey when disconnected, green when
calm); its outline is the worst QC flag among its latest values.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg

from alerts import Severity
from telemetry import QCFlag, worst
from viz.api.latest import latest
from viz.boards import freshness
from viz.messages import vi
from viz.palette import DISCONNECTED, NORMAL, QC_COLOURS, SEVERITY_COLOURS

__all__ = ["open_alerts", "overview_json"]

_STATIONS = (
    "SELECT id, name_vi, name_en, latitude, longitude, sampling_interval_s, timezone"
    " FROM stations WHERE active ORDER BY id"
)
_WORST = (
    "SELECT station_id, max(severity) FROM alerts WHERE state <> 'resolved' GROUP BY station_id"
)
_OPEN = (
    "SELECT a.id, a.station_id, s.name_vi, a.rule_id, coalesce(t.message_vi, a.rule_id),"
    " a.severity, a.state, a.opened_at, a.value, s.timezone FROM alerts a"
    " JOIN stations s ON s.id = a.station_id"
    " LEFT JOIN threshold_profiles t ON t.station_id = a.station_id AND t.rule_id = a.rule_id"
    " WHERE a.state <> 'resolved' AND (%(s)s::text IS NULL OR a.station_id = %(s)s)"
    " ORDER BY a.severity DESC, a.opened_at DESC LIMIT 500"
)


def web_mercator(lon: float, lat: float) -> tuple[float, float]:
    """Web Mercator metres (EPSG:3857) of a point, for maps on tiles."""
    radius = 6_378_137.0
    return (
        radius * math.radians(lon),
        radius * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)),
    )


def overview_json(conn: psycopg.Connection[Any], *, now: datetime) -> dict[str, list[Any]]:
    """Columns for the map and the station table, one row per active station."""
    stations = conn.execute(_STATIONS).fetchall()
    severities = dict(conn.execute(_WORST).fetchall())
    shown = {s.station_id: s for s in latest(conn)}
    out: dict[str, list[Any]] = {
        k: []
        for k in (
            "id", "name", "name_en", "lat", "lon", "x", "y", "fill", "line", "alert", "quality",
            "state", "last", "url",
        )
    }  # fmt: skip
    for sid, name, name_en, lat, lon, interval, tz in stations:
        values = shown[sid].values if sid in shown else []
        flags = np.array([int(v.qc) for v in values] or [int(QCFlag.MISSING)], dtype=np.uint8)
        quality = QCFlag(int(worst(*flags.reshape(-1, 1))[0]))
        last, stale = freshness(values, sampling_interval_s=interval, now=now)
        severity = severities.get(sid)
        fill = NORMAL if severity is None else SEVERITY_COLOURS[Severity(severity)]
        out["id"].append(sid)
        out["name"].append(name)
        out["name_en"].append(name_en)
        out["lat"].append(lat)
        out["lon"].append(lon)
        x, y = web_mercator(lon, lat)
        out["x"].append(x)
        out["y"].append(y)
        out["fill"].append(DISCONNECTED if stale else fill)
        out["line"].append(QC_COLOURS[quality])
        out["alert"].append(vi("no_alert") if severity is None else vi(f"severity_{severity}"))
        out["quality"].append(quality.name)
        out["state"].append(vi("disconnected") if stale else vi("online"))
        out["last"].append(last.astimezone(ZoneInfo(tz)).strftime("%d/%m %H:%M") if last else "—")
        out["url"].append(f"/dashboard/stations/{sid}")
    return out


def open_alerts(conn: psycopg.Connection[Any], station: str | None = None) -> dict[str, list[Any]]:
    """Columns of the open-alert table (open and acknowledged), worst and newest first."""
    rows = conn.execute(_OPEN, {"s": station}).fetchall()
    keys = ("id", "station", "station_name", "rule", "message", "severity", "state", "opened")
    out: dict[str, list[Any]] = {k: [] for k in (*keys, "value", "colour")}
    for aid, sid, name, rule, message, severity, state, opened, value, tz in rows:
        local = opened.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M")
        for key, item in zip(
            keys,
            (aid, sid, name, rule, message, vi(f"severity_{severity}"), state, local),
            strict=True,
        ):
            out[key].append(item)
        out["value"].append(value)
        out["colour"].append(SEVERITY_COLOURS[Severity(severity)])
    return out
