"""Alerts: filtered lists, detail with events, acknowledge and resolve (audited)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field

from alerts import Severity, acknowledge, fan_out, resolve
from viz.api.auth import Principal, Scope
from viz.api.deps import Conn, require
from viz.api.params import Instant, StationId
from viz.api.queries.audit import record

router = APIRouter(prefix="/alerts", tags=["alerts"])
Reader = Annotated[Principal, Depends(require(Scope.ALERTS_READ))]
Writer = Annotated[Principal, Depends(require(Scope.ALERTS_WRITE))]
AlertId = Annotated[int, Path(ge=1, le=2**62)]


class State(StrEnum):
    """Where an alert is in its lifecycle."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Alert(BaseModel):
    """An episode of a rule's condition at a station."""

    id: int
    station_id: str
    rule_id: str
    family: str
    severity: Severity
    state: State
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


class Ack(BaseModel):
    """An acknowledgement, optionally with a note."""

    note: Annotated[str, Field(max_length=2000)] | None = None


class Resolution(BaseModel):
    """A resolution; the note says what was done."""

    note: Annotated[str, Field(min_length=1, max_length=2000)]


_ALERT = (
    "SELECT id, station_id, rule_id, family, severity, state, opened_at, resolved_at,"
    " resolved_by, late, value, details FROM alerts"
)


def _alert(row: tuple[Any, ...]) -> Alert:
    return Alert(**dict(zip(Alert.model_fields, row, strict=True)))


def _detail(conn: psycopg.Connection[Any], alert_id: int) -> AlertDetail:
    row = conn.execute(_ALERT + " WHERE id = %s", (alert_id,)).fetchone()
    if row is None:
        raise HTTPException(404, f"no alert {alert_id}")
    events = conn.execute(
        "SELECT kind, severity, data_time, actor, note, created_at FROM alert_events"
        " WHERE alert_id = %s ORDER BY id",
        (alert_id,),
    ).fetchall()
    return AlertDetail(
        **_alert(row).model_dump(),
        events=[Event(**dict(zip(Event.model_fields, e, strict=True))) for e in events],
    )


@router.get("")
def list_alerts(
    conn: Conn,
    _: Reader,
    state: State | None = None,
    severity: Annotated[
        Severity | None, Query(description="1 advisory, 2 warning, 3 critical")
    ] = None,
    station: StationId | None = None,
    since: Annotated[Instant | None, Query(description="opened at or after")] = None,
    until: Annotated[Instant | None, Query(description="opened before")] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62, description="page: ids below")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Alert]:
    """Alerts, newest first, filtered by state, severity, station and time."""
    rows = conn.execute(
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
            "station": station,
            "since": since,
            "until": until,
            "before": before_id,
            "limit": limit,
        },
    ).fetchall()
    return [_alert(r) for r in rows]


@router.get("/{alert_id}")
def get_alert(alert_id: AlertId, conn: Conn, _: Reader) -> AlertDetail:
    """One alert with its events."""
    return _detail(conn, alert_id)


@router.post("/{alert_id}/acknowledge")
def acknowledge_alert(alert_id: AlertId, body: Ack, conn: Conn, who: Writer) -> AlertDetail:
    """Acknowledge an open alert (officers)."""
    with conn.transaction():
        before = _detail(conn, alert_id)
        acknowledge(conn, alert_id, actor=who.actor, note=body.note)
        record(
            conn,
            actor=who.actor,
            action="alert.acknowledge",
            target=f"alert:{alert_id}",
            before={"state": before.state.value},
            after={"state": "acknowledged", "note": body.note},
        )
    return _detail(conn, alert_id)


@router.post("/{alert_id}/resolve")
def resolve_alert(alert_id: AlertId, body: Resolution, conn: Conn, who: Writer) -> AlertDetail:
    """Resolve an alert with a note saying what was done (officers)."""
    with conn.transaction():
        before = _detail(conn, alert_id)
        # Whoever was sent the alert is told it is over, with the resolution.
        fan_out(conn, [resolve(conn, alert_id, actor=who.actor, note=body.note)])
        record(
            conn,
            actor=who.actor,
            action="alert.resolve",
            target=f"alert:{alert_id}",
            before={"state": before.state.value},
            after={"state": "resolved", "note": body.note},
        )
    return _detail(conn, alert_id)
