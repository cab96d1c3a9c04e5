"""Display boards in the registry: what each shows, in its order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True, slots=True)
class BoardRow:
    """A display board as registered: its names, place and stations in display order."""

    id: str
    name_vi: str
    name_en: str
    location: str
    stations: list[str]


@dataclass(frozen=True, slots=True)
class BoardTitles:
    """What a board's page is titled with: its name, place and active stations' names."""

    name_vi: str
    location: str
    station_names: list[str]


def board(conn: psycopg.Connection[Any], board_id: str) -> BoardRow | None:
    """One board, or None when there is no such board."""
    with conn.cursor(row_factory=class_row(BoardRow)) as cur:
        return cur.execute(
            "SELECT id, name_vi, name_en, location, stations FROM boards WHERE id = %s",
            (board_id,),
        ).fetchone()


def board_titles(conn: psycopg.Connection[Any], board_id: str) -> BoardTitles | None:
    """A board's page titles, or None when there is no such board with an active station."""
    with conn.cursor(row_factory=class_row(BoardTitles)) as cur:
        return cur.execute(
            "SELECT b.name_vi, b.location, array_agg(s.name_vi ORDER BY u.n) AS station_names"
            " FROM boards b"
            " CROSS JOIN LATERAL unnest(b.stations) WITH ORDINALITY AS u(id, n)"
            " JOIN stations s ON s.id = u.id AND s.active WHERE b.id = %s GROUP BY 1, 2",
            (board_id,),
        ).fetchone()
