"""What a public display board shows, as a compact feed for the board page and LED controllers.

A station is disconnected ("mất kết nối") when its newest reading is older than
``max(3 sampling intervals, 15 minutes)``, or it has none. Values carry a status colour: the
worst open alert on that parameter, else the colour of the reading's QC flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import class_row
from pydantic import BaseModel

from alerts import AlertState, Severity
from telemetry import QCFlag
from viz.api.queries.boards import board
from viz.api.queries.latest import LatestValue, StationLatest, latest
from viz.messages import vi
from viz.palette import DISCONNECTED, QC_COLOURS, SEVERITY_COLOURS, hex_rgb

__all__ = [
    "BoardFeed",
    "BoardStation",
    "BoardValue",
    "board_feed",
    "display_number",
    "freshness",
    "stale_after",
]

DEFAULT_ZONE: Final = "Asia/Ho_Chi_Minh"
MIN_STALE: Final = timedelta(minutes=15)
STALE_INTERVALS: Final = 3

_STATIONS = "SELECT id, sampling_interval_s, timezone FROM stations WHERE id = ANY(%s)"
# Worst open (or acknowledged) alert per station and measured quantity.
_ALERTS = (
    "SELECT a.station_id, t.quantity, max(a.severity) AS severity FROM alerts a"
    " JOIN threshold_profiles t ON t.station_id = a.station_id AND t.rule_id = a.rule_id"
    " WHERE a.state <> %s AND a.station_id = ANY(%s) GROUP BY 1, 2"
)


@dataclass(frozen=True, slots=True)
class _Sampling:
    id: str
    sampling_interval_s: int
    timezone: str


@dataclass(frozen=True, slots=True)
class _WorstAlert:
    station_id: str
    quantity: str
    severity: int


class BoardValue(BaseModel):
    """One current value on a board (short keys: LED controllers parse this)."""

    p: str
    name: str
    v: float
    text: str
    u: str
    colour: str


class BoardStation(BaseModel):
    """One station's tile on a board."""

    id: str
    name: str
    state: Literal["ok", "mat_ket_noi"]
    state_text: str
    last: datetime | None
    wqi: int | None
    band: str | None
    colour: str
    values: list[BoardValue]


class BoardFeed(BaseModel):
    """A board's feed: ``/boards/{id}.json``."""

    board: str
    name: str
    location: str
    generated_at: datetime
    stations: list[BoardStation]


def stale_after(sampling_interval_s: int) -> timedelta:
    """How old the newest reading may be before a station counts as disconnected."""
    return max(timedelta(seconds=STALE_INTERVALS * sampling_interval_s), MIN_STALE)


def freshness(
    values: Sequence[LatestValue], *, sampling_interval_s: int, now: datetime
) -> tuple[datetime | None, bool]:
    """The time of a station's newest reading, and whether that is too old (disconnected)."""
    last = max((v.time for v in values), default=None)
    return last, last is None or now - last > stale_after(sampling_interval_s)


def display_number(value: float) -> str:
    """A value as boards print it: Vietnamese decimal comma, fewer decimals when large."""
    magnitude = abs(value)
    decimals = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2
    return f"{value:.{decimals}f}".replace(".", ",")


def _tile(
    station: StationLatest,
    *,
    now: datetime,
    interval_s: int,
    zone: ZoneInfo,
    alerts: dict[str, int],
) -> BoardStation:
    last, stale = freshness(station.values, sampling_interval_s=interval_s, now=now)
    values = [
        BoardValue(
            p=v.parameter,
            name=v.name_vi,
            v=v.value,
            text=display_number(v.value),
            u=v.unit,
            colour=SEVERITY_COLOURS[Severity(alerts[v.parameter])]
            if v.parameter in alerts
            else QC_COLOURS[QCFlag(v.qc)],
        )
        for v in station.values
    ]
    wqi = None if stale or station.wqi is None else station.wqi
    return BoardStation(
        id=station.station_id,
        name=station.name_vi,
        state="mat_ket_noi" if stale else "ok",
        state_text=vi("disconnected") if stale else vi("online"),
        last=last.astimezone(zone) if last is not None else None,
        wqi=wqi.value if wqi is not None else None,
        band=wqi.band_vi if wqi is not None else None,
        colour=DISCONNECTED if stale else hex_rgb(wqi.rgb) if wqi is not None else "#ffffff",
        values=values,
    )


def board_feed(conn: psycopg.Connection[Any], board_id: str, *, now: datetime) -> BoardFeed | None:
    """The feed of one board, or None when there is no such board."""
    found = board(conn, board_id)
    if found is None:
        return None
    ids = found.stations
    with conn.cursor(row_factory=class_row(_Sampling)) as cur:
        info = {
            s.id: (s.sampling_interval_s, ZoneInfo(s.timezone))
            for s in cur.execute(_STATIONS, (ids,))
        }
    alerts: dict[str, dict[str, int]] = {}
    with conn.cursor(row_factory=class_row(_WorstAlert)) as cur:
        for a in cur.execute(_ALERTS, (AlertState.RESOLVED.value, ids)):
            alerts.setdefault(a.station_id, {})[a.quantity] = a.severity
    shown = {s.station_id: s for s in latest(conn, ids)}
    tiles = [
        _tile(
            shown[sid],
            now=now,
            interval_s=info[sid][0],
            zone=info[sid][1],
            alerts=alerts.get(sid, {}),
        )
        for sid in ids
        if sid in shown
    ]
    zone = next(iter(info.values()))[1] if info else ZoneInfo(DEFAULT_ZONE)
    return BoardFeed(
        board=found.id,
        name=found.name_vi,
        location=found.location,
        generated_at=now.astimezone(zone),
        stations=tiles,
    )
