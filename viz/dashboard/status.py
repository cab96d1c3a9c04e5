"""The overview's data: what the public surface shows of each station, and the officers' alerts.

The public part (no login) is what the display boards and ``/api/v1/public`` already show:
each station's place, link state, latest values with their QC flags, and VN_WQI. The
officers' part is each station's worst open alert (the map's fill once logged in) and the
open alerts themselves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import class_row

from alerts import AlertState, Severity
from telemetry import QCFlag, StationState
from viz.api.queries.forwarding import forwarding
from viz.api.queries.latest import latest
from viz.boards import display_number, freshness
from viz.messages import FLAG_KEYS, SEVERITY_KEYS, vi
from viz.palette import DISCONNECTED, NORMAL, ONLINE, QC_COLOURS, SEVERITY_COLOURS, hex_rgb

__all__ = [
    "STATION_COLUMNS",
    "VALUE_COLUMNS",
    "Link",
    "link",
    "open_alerts",
    "overview_json",
    "station_alerts",
    "station_quality",
    "web_mercator",
]

STATION_COLUMNS: Final = (
    "id",
    "name",
    "name_en",
    "lat",
    "lon",
    "x",
    "y",
    "state",
    "state_text",
    "status_colour",
    "line",
    "quality",
    "wqi",
    "wqi_colour",
    "last",
    "url",
)
"""Columns of the public station rows (map and station table)."""

VALUE_COLUMNS: Final = (
    "station",
    "station_name",
    "station_name_en",
    "parameter",
    "name",
    "name_en",
    "value",
    "text",
    "unit",
    "qc",
    "qc_colour",
    "time",
)
"""Columns of the public latest-value rows, one per station and parameter."""

_STATIONS = (
    "SELECT id, latitude, longitude, sampling_interval_s, timezone FROM stations"
    " WHERE active ORDER BY id"
)
# Each active station with its worst open (or acknowledged) alert, if any.
_WORST = (
    "SELECT s.id, w.severity FROM stations s LEFT JOIN (SELECT station_id, max(severity)"
    " AS severity FROM alerts WHERE state <> %s GROUP BY station_id) w ON w.station_id = s.id"
    " WHERE s.active ORDER BY s.id"
)
_OPEN = (
    "SELECT a.id, a.station_id, s.name_vi AS station_name, a.rule_id,"
    " coalesce(t.message_vi, a.rule_id) AS message, a.severity, a.state, a.opened_at, a.value,"
    " s.timezone FROM alerts a"
    " JOIN stations s ON s.id = a.station_id"
    " LEFT JOIN threshold_profiles t ON t.station_id = a.station_id AND t.rule_id = a.rule_id"
    " WHERE a.state <> %(resolved)s AND (%(s)s::text IS NULL OR a.station_id = %(s)s)"
    " ORDER BY a.severity DESC, a.opened_at DESC LIMIT 500"
)


class Link(StrEnum):
    """A station's link as the overview shows it."""

    ONLINE = "online"  # readings are fresh
    OFFLINE = "offline"  # the station announced it went offline (or its will did) since
    STALE = "stale"  # no fresh reading, and no word from the station: "mất kết nối"


_LINK_TEXT: Final = {Link.ONLINE: "online", Link.OFFLINE: "offline", Link.STALE: "disconnected"}
_LINK_COLOURS: Final = {Link.ONLINE: ONLINE, Link.OFFLINE: DISCONNECTED, Link.STALE: DISCONNECTED}


@dataclass(frozen=True, slots=True)
class _Worst:
    id: str
    severity: int | None


@dataclass(frozen=True, slots=True)
class _OpenAlert:
    id: int
    station_id: str
    station_name: str
    rule_id: str
    message: str
    severity: int
    state: str
    opened_at: datetime
    value: float | None
    timezone: str


@dataclass(frozen=True, slots=True)
class _Place:
    id: str
    latitude: float
    longitude: float
    sampling_interval_s: int
    timezone: str


def web_mercator(lon: float, lat: float) -> tuple[float, float]:
    """Web Mercator metres (EPSG:3857) of a point, for maps on tiles."""
    radius = 6_378_137.0
    return (
        radius * math.radians(lon),
        radius * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)),
    )


def link(
    status: str | None,
    status_at: datetime | None,
    last: datetime | None,
    *,
    stale: bool,
) -> Link:
    """A station's link from its announced status and the age of its newest reading.

    An "offline" announcement counts when no reading is newer than it; otherwise fresh
    readings mean online, and old ones (or none) mean the link is lost.
    """
    announced_offline = status == StationState.OFFLINE and (
        last is None or status_at is None or status_at >= last
    )
    if announced_offline:
        return Link.OFFLINE
    return Link.STALE if stale else Link.ONLINE


# What a station's outline shows, least telling first: a value not yet checked outranks
# good ones, so a station is never shown good while any of its latest values is unchecked.
_SHOWN: Final = (QCFlag.MISSING, QCFlag.GOOD, QCFlag.UNKNOWN, QCFlag.SUSPECT, QCFlag.FAIL)


def station_quality(flags: Sequence[int]) -> QCFlag:
    """The QC flag a station's outline shows for its latest values' flags: the worst, with
    "not yet checked" above good (MISSING when it has none)."""
    return max((QCFlag(f) for f in flags), key=_SHOWN.index, default=QCFlag.MISSING)


def _local(time: datetime | None, zone: ZoneInfo) -> str:
    return time.astimezone(zone).strftime("%d/%m %H:%M") if time is not None else "—"


def overview_json(
    conn: psycopg.Connection[Any], *, now: datetime
) -> dict[str, dict[str, list[Any]]]:
    """The public overview: ``stations`` (map and table) and ``values`` (latest readings).

    Only what the public surface shows: names, places, link state, latest values with units
    and QC flags, VN_WQI (none when the station is disconnected, as on the boards).
    """
    with conn.cursor(row_factory=class_row(_Place)) as cur:
        places = {p.id: p for p in cur.execute(_STATIONS)}
    stations: dict[str, list[Any]] = {k: [] for k in STATION_COLUMNS}
    values: dict[str, list[Any]] = {k: [] for k in VALUE_COLUMNS}
    for station in latest(conn):
        place = places.get(station.station_id)
        if place is None:  # deactivated between the two queries
            continue
        zone = ZoneInfo(place.timezone)
        interval = place.sampling_interval_s
        last, stale = freshness(station.values, sampling_interval_s=interval, now=now)
        state = link(station.status, station.status_at, last, stale=stale)
        quality = station_quality([v.qc for v in station.values])
        wqi = station.wqi if state is Link.ONLINE else None
        x, y = web_mercator(place.longitude, place.latitude)
        row = {
            "id": station.station_id,
            "name": station.name_vi,
            "name_en": station.name_en,
            "lat": place.latitude,
            "lon": place.longitude,
            "x": x,
            "y": y,
            "state": state.value,
            "state_text": vi(_LINK_TEXT[state]),
            "status_colour": _LINK_COLOURS[state],
            "line": QC_COLOURS[quality],
            "quality": vi(FLAG_KEYS[quality]),
            "wqi": f"{wqi.value} {wqi.band_vi}" if wqi is not None else vi("no_wqi"),
            "wqi_colour": hex_rgb(wqi.rgb) if wqi is not None else "#ffffff",
            "last": _local(last, zone),
            "url": f"/dashboard/stations/{quote(station.station_id, safe='')}",
        }
        for key, item in row.items():
            stations[key].append(item)
        for v in station.values:
            cells = {
                "station": station.station_id,
                "station_name": station.name_vi,
                "station_name_en": station.name_en,
                "parameter": v.parameter,
                "name": v.name_vi,
                "name_en": v.name_en,
                "value": v.value,
                "text": display_number(v.value),
                "unit": v.unit,
                "qc": vi(FLAG_KEYS[v.qc]),
                "qc_colour": QC_COLOURS[v.qc],
                "time": _local(v.time, zone),
            }
            for key, item in cells.items():
                values[key].append(item)
    return {"stations": stations, "values": values}


def station_alerts(conn: psycopg.Connection[Any]) -> dict[str, list[Any]]:
    """Each active station's worst open alert, as text and as the map's fill (officers)."""
    out: dict[str, list[Any]] = {"id": [], "alert": [], "fill": []}
    with conn.cursor(row_factory=class_row(_Worst)) as cur:
        rows = cur.execute(_WORST, (AlertState.RESOLVED.value,)).fetchall()
    for r in rows:
        severity = r.severity
        out["id"].append(r.id)
        out["alert"].append(
            vi("no_alert") if severity is None else vi(SEVERITY_KEYS[Severity(severity)])
        )
        out["fill"].append(NORMAL if severity is None else SEVERITY_COLOURS[Severity(severity)])
    return out


def open_alerts(conn: psycopg.Connection[Any], station: str | None = None) -> dict[str, list[Any]]:
    """Columns of the open-alert table (open and acknowledged), worst and newest first."""
    with conn.cursor(row_factory=class_row(_OpenAlert)) as cur:
        rows = cur.execute(_OPEN, {"s": station, "resolved": AlertState.RESOLVED.value}).fetchall()
    keys = ("id", "station", "station_name", "rule", "message", "severity", "state", "opened")
    out: dict[str, list[Any]] = {k: [] for k in (*keys, "value", "colour")}
    for a in rows:
        cells = {
            "id": a.id,
            "station": a.station_id,
            "station_name": a.station_name,
            "rule": a.rule_id,
            "message": a.message,
            "severity": vi(SEVERITY_KEYS[Severity(a.severity)]),
            "state": a.state,
            "opened": a.opened_at.astimezone(ZoneInfo(a.timezone)).strftime("%d/%m/%Y %H:%M"),
            "value": a.value,
            "colour": SEVERITY_COLOURS[Severity(a.severity)],
        }
        for key, item in cells.items():
            out[key].append(item)
    return out


def _behind(seconds: float | None) -> str:
    """How far forwarding is behind, in Vietnamese (minutes, else hours with a decimal comma)."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{max(seconds, 0) / 60:.0f} phút"
    return f"{display_number(seconds / 3600)} giờ"


def forwarding_table(conn: psycopg.Connection[Any]) -> dict[str, list[Any]]:
    """Columns of the forwarding table: per receiver and station, lag and last error."""
    keys = ("receiver", "station_name", "lag", "last_sent", "last_error", "colour")
    out: dict[str, list[Any]] = {k: [] for k in keys}
    for f in forwarding(conn):
        zone = ZoneInfo(f.timezone)
        failing = f.last_error is not None
        cells = {
            "receiver": f.receiver,
            "station_name": f.station_name,
            "lag": _behind(f.lag_s),
            "last_sent": _local(f.last_sent_at, zone),
            "last_error": (f"{_local(f.last_error_at, zone)} {f.last_error}" if failing else ""),
            "colour": SEVERITY_COLOURS[Severity.WARNING] if failing else NORMAL,
        }
        for key, item in cells.items():
            out[key].append(item)
    return out
