"""Routes of the dashboards and display boards: HTML pages and the JSON their plots poll.

Pages carry no data. The overview's stations and latest values are public, as on the boards;
alerts and series need a login (the viewer role suffices to look, acting on alerts goes
through the API's own routes). Boards and their feeds are public.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse

from viz.api.auth import Principal, Scope
from viz.api.deps import Conn, Svc, require
from viz.api.params import StationId
from viz.api.queries.boards import board_titles
from viz.api.queries.stations import active_station
from viz.api.queries.thresholds import rules
from viz.boards import BoardFeed, board_feed
from viz.dashboard.board_page import board_page
from viz.dashboard.overview import overview_page
from viz.dashboard.series import series_json
from viz.dashboard.station import StationPage, station_page
from viz.dashboard.status import forwarding_table, open_alerts, overview_json, station_alerts

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Looker = Annotated[Principal, Depends(require(Scope.ALERTS_READ))]
Reader = Annotated[Principal, Depends(require(Scope.READINGS_READ))]
Range = Literal["24h", "7d", "30d", "custom"]
SPANS: Final = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
MAX_SPAN: Final = timedelta(days=400)


def _window(
    zone: ZoneInfo, chosen: Range, start: datetime | None, end: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """A range as aware instants; custom bounds without an offset are the station's time."""
    if chosen != "custom":
        return now - SPANS[chosen], now
    if start is None or end is None:
        raise HTTPException(422, "a custom range needs start and end")
    start, end = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (start, end))
    if not timedelta(0) < end - start <= MAX_SPAN:
        raise HTTPException(422, f"end must follow start by at most {MAX_SPAN.days} days")
    return start, end


def _tile_origin(tiles: str) -> tuple[str, ...]:
    """Where the overview map's tiles come from, for the page's image sources."""
    if not tiles:
        return ()
    parts = urlsplit(tiles)
    # A host with a placeholder ({S}.tiles...): any host of that scheme.
    return (f"{parts.scheme}:",) if "{" in parts.netloc else (f"{parts.scheme}://{parts.netloc}",)


@router.get("/dashboard", response_class=HTMLResponse)
def overview(svc: Svc) -> HTMLResponse:
    """Overview: map, stations and latest values for all; open alerts for officers."""
    tiles = svc.settings.map_tiles
    return overview_page(tiles).response(img_sources=_tile_origin(tiles))


@router.get("/dashboard/stations/{station_id}", response_class=HTMLResponse)
def station(
    station_id: StationId,
    conn: Conn,
    svc: Svc,
    range: Range = "24h",
    start: datetime | None = None,
    end: datetime | None = None,
) -> HTMLResponse:
    """A station's time series."""
    found = active_station(conn, station_id)
    zone = ZoneInfo(found.timezone)
    now = svc.clock.now()
    if range == "custom":
        _window(zone, range, start, end, now=now)
    offset = now.astimezone(zone).strftime("UTC%z")
    view = StationPage(
        station_id=station_id,
        name_vi=found.name_vi,
        name_en=found.name_en,
        utc_offset=f"{offset[:-2]}:{offset[-2:]}",
        parameters=tuple(found.parameters),
        range=range,
        start=start.replace(tzinfo=None) if start else None,
        end=end.replace(tzinfo=None) if end else None,
        zone=found.timezone,
        rules=tuple(r.rule_id for r in rules(conn, station_id=station_id)),
    )
    return station_page(view).response()


@router.get("/dashboard/data/overview.json")
def overview_data(conn: Conn, svc: Svc) -> dict[str, dict[str, list[Any]]]:
    """Map, station-table and latest-value columns: what the public surface shows (no login)."""
    return overview_json(conn, now=svc.clock.now())


@router.get("/dashboard/data/station_alerts.json")
def station_alerts_data(conn: Conn, _: Looker) -> dict[str, list[Any]]:
    """Each station's worst open alert (the officers' map colours)."""
    return station_alerts(conn)


@router.get("/dashboard/data/forwarding.json")
def forwarding_data(conn: Conn, _: Looker) -> dict[str, list[Any]]:
    """Forwarding table columns: each station's lag and last error per receiver."""
    return forwarding_table(conn)


@router.get("/dashboard/data/alerts.json")
def alerts_data(
    conn: Conn, _: Looker, station: Annotated[StationId | None, Query()] = None
) -> dict[str, list[Any]]:
    """Open-alert table columns."""
    return open_alerts(conn, station)


@router.get("/dashboard/data/stations/{station_id}.json")
def station_data(
    station_id: StationId,
    conn: Conn,
    svc: Svc,
    _: Reader,
    range: Range = "24h",
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """A station page's series, flagged points, alert markers and threshold zones."""
    found = active_station(conn, station_id)
    zone = ZoneInfo(found.timezone)
    begin, finish = _window(zone, range, start, end, now=svc.clock.now())
    return series_json(
        conn,
        station_id,
        start=begin,
        end=finish,
        sampling_interval_s=found.sampling_interval_s,
        zone=zone,
        parameters=list(found.parameters),
    )


@router.get("/boards/{board_id}.json")
def board_json(board_id: StationId, conn: Conn, svc: Svc) -> BoardFeed:
    """A display board's feed (LED controllers and the board page)."""
    feed = board_feed(conn, board_id, now=svc.clock.now())
    if feed is None:
        raise HTTPException(404, f"no board {board_id!r}")
    return feed


@router.get("/boards/{board_id}", response_class=HTMLResponse)
def board(board_id: StationId, conn: Conn) -> HTMLResponse:
    """A display board's page."""
    titles = board_titles(conn, board_id)
    if titles is None:
        raise HTTPException(404, f"no board {board_id!r}")
    names = tuple(titles.station_names)
    page = board_page(board_id, name=titles.name_vi, location=titles.location, station_names=names)
    return page.response()
