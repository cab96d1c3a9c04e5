"""Forwarding to upstream receivers, per receiver and station: how far behind, the last error."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from pydantic import BaseModel


class Forwarding(BaseModel):
    """Where forwarding to one receiver stands for one station.

    ``lag_s`` is how far the newest instant forwarded is behind the station's newest reading
    (0 when caught up; None before the first file went).
    """

    receiver: str
    station_id: str
    station_name: str
    timezone: str
    sent_until: datetime | None
    newest: datetime | None
    lag_s: float | None
    last_sent_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


_FORWARDING = (
    "SELECT f.receiver, f.station_id, s.name_vi AS station_name, s.timezone, f.sent_until,"
    " n.newest,"
    " extract(epoch FROM n.newest - f.sent_until)::float8 AS lag_s, f.last_sent_at,"
    " f.last_error, f.last_error_at"
    " FROM forward_state f JOIN stations s ON s.id = f.station_id"
    " CROSS JOIN LATERAL (SELECT max(r.time) AS newest FROM parameters p"
    "  CROSS JOIN LATERAL (SELECT time FROM readings r WHERE r.station_id = s.id"
    "   AND r.parameter_id = p.id ORDER BY time DESC LIMIT 1) r"
    "  WHERE p.code = ANY(s.parameters)) n"
    " ORDER BY f.receiver, f.station_id"
)


def forwarding(conn: psycopg.Connection[Any]) -> list[Forwarding]:
    """Every (receiver, station) forwarding has touched, by receiver and station."""
    with conn.cursor(row_factory=class_row(Forwarding)) as cur:
        return cur.execute(_FORWARDING).fetchall()
