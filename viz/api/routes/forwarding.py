"""Forwarding upstream (``aquawatch forward``): each station's lag and last error per receiver."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from viz.api.auth import Principal, Scope
from viz.api.deps import Conn, require
from viz.api.queries.forwarding import Forwarding, forwarding

router = APIRouter(prefix="/forwarding", tags=["forwarding"])
Reader = Annotated[Principal, Depends(require(Scope.STATIONS_READ))]


@router.get("")
def list_forwarding(conn: Conn, _: Reader) -> list[Forwarding]:
    """Forwarding to each upstream receiver per station: how far behind, the last error."""
    return forwarding(conn)
