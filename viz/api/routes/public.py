"""The public surface for display boards: station names, latest values, VN_WQI. No login.

Nothing else is reachable without credentials; these routes expose only what the boards
show in the street. Boards poll, often all at once, and the data changes every few
minutes: answers are rendered once and served from memory for ``public_cache_s``, from
connections reserved for the public routes and ``/health``.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, TypeAdapter

from viz.api.deps import Svc, pooled
from viz.api.params import StationId
from viz.api.problems import NotFoundError
from viz.api.queries.boards import board
from viz.api.queries.latest import StationLatest, latest

router = APIRouter(prefix="/public", tags=["public"])

_LATEST: Final = TypeAdapter(list[StationLatest])


class BoardView(BaseModel):
    """A display board and the stations it shows."""

    id: str
    name_vi: str
    name_en: str
    location: str
    stations: list[StationLatest]


def _json(body: bytes, max_age_s: float) -> Response:
    cache = f"public, max-age={int(max_age_s)}" if max_age_s >= 1 else "no-cache"
    return Response(body, media_type="application/json", headers={"Cache-Control": cache})


@router.get("/stations/latest", response_model=list[StationLatest])
async def public_latest(request: Request, svc: Svc) -> Response:
    """Latest values and VN_WQI of every active station (no login)."""

    def render() -> bytes:
        with pooled(request) as conn:
            return _LATEST.dump_json(latest(conn))

    body = await svc.public_cache.get("latest", render)
    return _json(body, svc.settings.public_cache_s)


@router.get("/boards/{board_id}", response_model=BoardView)
async def public_board(board_id: StationId, request: Request, svc: Svc) -> Response:
    """What one display board shows: its stations' latest values and VN_WQI (no login)."""

    def render() -> bytes:
        with pooled(request) as conn:
            found = board(conn, board_id)
            if found is None:
                msg = f"no board {board_id!r}"
                raise NotFoundError(msg)
            shown = {s.station_id: s for s in latest(conn, found.stations)}
        view = BoardView(
            id=found.id,
            name_vi=found.name_vi,
            name_en=found.name_en,
            location=found.location,
            stations=[shown[s] for s in found.stations if s in shown],
        )
        return view.model_dump_json().encode()

    body = await svc.public_cache.get(f"board:{board_id}", render)
    return _json(body, svc.settings.public_cache_s)
