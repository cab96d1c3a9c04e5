"""Alerts as the API shows them: filtered lists, and one alert with its events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from pydantic import BaseModel

from alerts import AlertState, Severity
from viz.api.problems import NotFoundError


class Alert(BaseModel):
    """An episode of a rule's condition at a station."""

    id: int
    station_id: str
    rule_id: str
    family: str
    severity: Severity
    state: AlertState
    opened_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    late: bool
    value: float | None
    details: dict[str, Any]


class Event(BaseModel):
    """A transition of an alert."""

    kind: str
    severity: Severity
    data_time: datetime | None
    actor: str
    note: str | None
    created_at: datetime


class AlertDetail(Alert):
    """An alert with its events, oldest first."""

    events: list[Event]


_ALERT = (
    "SELECT id, station_id, rule_id, family, severity, state, opened_at, resolved_at,"
    " resolved_by, late, value, details FROM alerts"
)


def alerts(
    conn: psycopg.Connection[Any],
    *,
    state: AlertState | None,
    severity: Severity | None,
    station_id: str | None,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
) -> list[Alert]:
    """Alerts, newest first, filtered by state, severity, station and opening time."""
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        return cur.execute(
            _ALERT + " WHERE (%(state)s::text IS NULL OR state = %(state)s)"
            " AND (%(sev)s::smallint IS NULL OR severity = %(sev)s)"
            " AND (%(station)s::text IS NULL OR station_id = %(station)s)"
            " AND (%(since)s::timestamptz IS NULL OR opened_at >= %(since)s)"
            " AND (%(until)s::timestamptz IS NULL OR opened_at < %(until)s)"
            " AND (%(before)s::bigint IS NULL OR id < %(before)s)"
            " ORDER BY id DESC LIMIT %(limit)s",
            {
                "state": state.value if state else None,
                "sev": int(severity) if severity else None,
                "station": station_id,
                "since": since,
                "until": until,
                "before": before_id,
                "limit": limit,
            },
        ).fetchall()


def alert_detail(conn: psycopg.Connection[Any], alert_id: int) -> AlertDetail:
    """One alert with its events.

    Raises:
        NotFoundError: No such alert.
    """
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        alert = cur.execute(_ALERT + " WHERE id = %s", (alert_id,)).fetchone()
    if alert is None:
        msg = f"no alert {alert_id}"
        raise NotFoundError(msg)
    with conn.cursor(row_factory=class_row(Event)) as cur:
        events = cur.execute(
            "SELECT kind, severity, data_time, actor, note, created_at FROM alert_events"
            " WHERE alert_id = %s ORDER BY id",
            (alert_id,),
        ).fetchall()
    return AlertDetail(**alert.model_dump(), events=events)
