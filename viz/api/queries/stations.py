"""Stations as the API and the dashboards show them: the active ones in the registry."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import class_row
from pydantic import BaseModel

from viz.api.problems import NotFoundError


class StationView(BaseModel):
    """A monitoring station."""

    id: str
    kind: str
    name_vi: str
    name_en: str
    district: str
    latitude: float
    longitude: float
    timezone: str
    sampling_interval_s: int
    parameters: list[str]
    example_site: bool
    file_code: str
    """The station's code in Circular 10/2021 file names."""
    transport: str
    """How it sends: mqtt, ftp or both."""
    province: str | None
    """The province today (Kiên Giang was merged into An Giang on 1 July 2025)."""
    former_province: str | None
    """The province before that merger; ``district`` is the former district."""


_STATION = (
    "SELECT id, kind, name_vi, name_en, district, latitude, longitude, timezone,"
    " sampling_interval_s, parameters, example_site, file_code, transport, province,"
    " former_province FROM stations WHERE active"
)


def active_stations(conn: psycopg.Connection[Any]) -> list[StationView]:
    """The active stations, by id."""
    with conn.cursor(row_factory=class_row(StationView)) as cur:
        return cur.execute(_STATION + " ORDER BY id").fetchall()


def active_station(conn: psycopg.Connection[Any], station_id: str) -> StationView:
    """One active station.

    Raises:
        NotFoundError: No such active station.
    """
    with conn.cursor(row_factory=class_row(StationView)) as cur:
        found = cur.execute(_STATION + " AND id = %s", (station_id,)).fetchone()
    if found is None:
        msg = f"no station {station_id!r}"
        raise NotFoundError(msg)
    return found


def file_code(conn: psycopg.Connection[Any], station_id: str) -> str:
    """The station's code in Circular 10/2021 file names (its id for an unknown station)."""
    row = conn.execute("SELECT file_code FROM stations WHERE id = %s", (station_id,)).fetchone()
    return str(row[0]) if row is not None else station_id


def ensure_station(conn: psycopg.Connection[Any], station_id: str) -> None:
    """Check that a station is registered (active or not): its readings stay readable.

    Raises:
        NotFoundError: No such station.
    """
    if conn.execute("SELECT 1 FROM stations WHERE id = %s", (station_id,)).fetchone() is None:
        msg = f"no station {station_id!r}"
        raise NotFoundError(msg)
