"""The public surface for display boards: station names, latest values, VN_WQI. No login.

Nothing else is reachable without credentials; these routes expose only what the boards
show in the street.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from viz.api.deps import Conn
from viz.api.latest import StationLatest, latest
from viz.api.params import StationId

router = APIRouter(prefix="/public", tags=["public"])


class Board(BaseModel):
    """A display board and the stations it shows."""

    id: str
    name_vi: str
    name_en: str
    location: str
    stations: list[StationLatest]


@router.get("/stations/latest")
def public_latest(conn: Conn) -> list[StationLatest]:
    """Latest values and VN_WQI of every active station (no login)."""
    return latest(conn)


@router.get("/boards/{board_id}")
def public_board(board_id: StationId, conn: Conn) -> Board:
    """What one display board shows: its stations' latest values and VN_WQI (no login)."""
    row = conn.execute(
        "SELECT id, name_vi, name_en, location, stations FROM boards WHERE id = %s", (board_id,)
    ).fetchone()
    if row is None:
        raise HTTPException(404, f"no board {board_id!r}")
    shown = {s.station_id: s for s in latest(conn, row[4])}
    ordered = [shown[s] for s in row[4] if s in shown]
    return Board(id=row[0], name_vi=row[1], name_en=row[2], location=row[3], stations=ordered)
