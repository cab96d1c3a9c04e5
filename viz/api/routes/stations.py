"""Stations: the registry, latest values, and the threshold rules in force with overrides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from viz.api.auth import Principal, Scope
from viz.api.deps import Conn, Svc, require
from viz.api.params import StationId
from viz.api.queries.latest import StationLatest, latest
from viz.api.queries.stations import StationView, active_station, active_stations
from viz.api.queries.thresholds import Limits, Rule, override, remove_override, rules
from viz.api.queries.what_if import Candidate, WhatIfResult, try_limits

router = APIRouter(prefix="/stations", tags=["stations"])
Reader = Annotated[Principal, Depends(require(Scope.STATIONS_READ))]
Officer = Annotated[Principal, Depends(require(Scope.OVERRIDES_WRITE))]


@router.get("")
def list_stations(conn: Conn, _: Reader) -> list[StationView]:
    """List the active stations."""
    return active_stations(conn)


@router.get("/latest")
def latest_all(conn: Conn, _: Reader) -> list[StationLatest]:
    """Latest values of every active station, with QC flags, device and station status."""
    return latest(conn)


@router.get("/{station_id}")
def get_station(station_id: StationId, conn: Conn, _: Reader) -> StationView:
    """One station."""
    return active_station(conn, station_id)


@router.get("/{station_id}/latest")
def latest_one(station_id: StationId, conn: Conn, _: Reader) -> StationLatest:
    """Latest values of one station, with QC flags, device and station status."""
    active_station(conn, station_id)
    return latest(conn, [station_id])[0]


@router.get("/{station_id}/thresholds")
def station_rules(station_id: StationId, conn: Conn, _: Reader) -> list[Rule]:
    """Threshold rules in force at a station, with where each limit comes from."""
    active_station(conn, station_id)
    return rules(conn, station_id=station_id)


@router.put("/{station_id}/thresholds/{rule_id}")
def put_override(
    station_id: StationId, rule_id: str, limits: Limits, conn: Conn, who: Officer
) -> Rule:
    """Override a rule's limits at one station (officers), naming the source."""
    active_station(conn, station_id)
    return override(conn, station_id, rule_id, limits, actor=who.actor)


@router.delete("/{station_id}/thresholds/{rule_id}", status_code=204)
def delete_override(station_id: StationId, rule_id: str, conn: Conn, who: Officer) -> Response:
    """Remove a station's override of a rule (officers)."""
    active_station(conn, station_id)
    remove_override(conn, station_id, rule_id, actor=who.actor)
    return Response(status_code=204)


@router.post("/{station_id}/thresholds/{rule_id}/what-if")
def what_if(
    station_id: StationId, rule_id: str, candidate: Candidate, conn: Conn, svc: Svc, _: Officer
) -> WhatIfResult:
    """Backtest a candidate limit change over the last 30 or 90 days, changing nothing."""
    active_station(conn, station_id)
    return try_limits(
        conn,
        station_id,
        rule_id,
        candidate,
        now=svc.clock.time(),
        stations_file=svc.settings.stations_file,
    )
