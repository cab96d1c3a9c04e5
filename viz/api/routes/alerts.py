"""Alerts: filtered lists, detail with events, acknowledge and resolve (audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from alerts import AlertState, Severity, acknowledge, fan_out, resolve
from viz.api.auth import Principal, Scope
from viz.api.deps import Conn, require
from viz.api.params import Instant, StationId
from viz.api.queries.alerts import Alert, AlertDetail, alert_detail, alerts
from viz.api.queries.audit import record

router = APIRouter(prefix="/alerts", tags=["alerts"])
Reader = Annotated[Principal, Depends(require(Scope.ALERTS_READ))]
Writer = Annotated[Principal, Depends(require(Scope.ALERTS_WRITE))]
AlertId = Annotated[int, Path(ge=1, le=2**62)]


class Ack(BaseModel):
    """An acknowledgement, optionally with a note."""

    note: Annotated[str, Field(max_length=2000)] | None = None


class Resolution(BaseModel):
    """A resolution; the note says what was done."""

    note: Annotated[str, Field(min_length=1, max_length=2000)]


@router.get("")
def list_alerts(
    conn: Conn,
    _: Reader,
    state: AlertState | None = None,
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
    return alerts(
        conn,
        state=state,
        severity=severity,
        station_id=station,
        since=since,
        until=until,
        before_id=before_id,
        limit=limit,
    )


@router.get("/{alert_id}")
def get_alert(alert_id: AlertId, conn: Conn, _: Reader) -> AlertDetail:
    """One alert with its events."""
    return alert_detail(conn, alert_id)


@router.post("/{alert_id}/acknowledge")
def acknowledge_alert(alert_id: AlertId, body: Ack, conn: Conn, who: Writer) -> AlertDetail:
    """Acknowledge an open alert (officers)."""
    with conn.transaction():
        # No SMS: the pond is no safer (the dashboard shows who acknowledged). Escalations
        # still queued are cancelled when claimed; resolving is what tells the recipients.
        before = alert_detail(conn, alert_id)
        acknowledge(conn, alert_id, actor=who.actor, note=body.note)
        record(
            conn,
            actor=who.actor,
            action="alert.acknowledge",
            target=f"alert:{alert_id}",
            before={"state": before.state.value},
            after={"state": AlertState.ACKNOWLEDGED.value, "note": body.note},
        )
    return alert_detail(conn, alert_id)


@router.post("/{alert_id}/resolve")
def resolve_alert(alert_id: AlertId, body: Resolution, conn: Conn, who: Writer) -> AlertDetail:
    """Resolve an alert with a note saying what was done (officers)."""
    with conn.transaction():
        before = alert_detail(conn, alert_id)
        # Whoever was sent the alert is told it is over, with the resolution.
        fan_out(conn, [resolve(conn, alert_id, actor=who.actor, note=body.note)])
        record(
            conn,
            actor=who.actor,
            action="alert.resolve",
            target=f"alert:{alert_id}",
            before={"state": before.state.value},
            after={"state": AlertState.RESOLVED.value, "note": body.note},
        )
    return alert_detail(conn, alert_id)
