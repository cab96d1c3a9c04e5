"""Alert lifecycle: episodes derived from data become alerts and events, exactly once.

Each tick the engine re-derives, from its window of committed data, the episodes of every
rule's condition (when it became due, its highest tier, when it cleared). ``reconcile`` turns
them into rows: an episode's identity is (station, rule, due time), so deriving it again
after a restart, or from late data, changes nothing; at most one alert per station and rule
is open; an alert a person resolved is not reopened while its condition goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from telemetry import AquaWatchError

logger = logging.getLogger(__name__)

ENGINE = "engine"


class Severity(IntEnum):
    """Alert tiers."""

    ADVISORY = 1
    WARNING = 2
    CRITICAL = 3


class AlertError(AquaWatchError):
    """An alert action is not possible (unknown alert, already resolved)."""


@dataclass(frozen=True, slots=True)
class Episode:
    """One stretch during which a rule's condition held at a station.

    Attributes:
        station_id: The station.
        rule_id: The rule's stable id.
        family: threshold, trend, pollution, risk, quality or offline.
        opened_at: Data time it became due (held for the rule's minimum duration).
        severity: The highest tier reached.
        escalations: (data time, tier) of the first tier and of each higher one, in order.
        resolved_at: Data time it cleared for good, or None while it holds.
        continues: It was already holding at the start of the window, so its real start is
            earlier than the window shows.
        value: The value that made it due (or its worst).
        details: Rule-specific facts (factors, projection...) for people and messages.
    """

    station_id: str
    rule_id: str
    family: str
    opened_at: float
    severity: int
    escalations: tuple[tuple[float, int], ...] = ()
    resolved_at: float | None = None
    continues: bool = False
    value: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transition:
    """A change made to an alert."""

    alert_id: int
    station_id: str
    rule_id: str
    kind: str
    severity: int
    late: bool = False


@dataclass(slots=True)
class _Open:
    id: int
    opened_at: datetime
    severity: int
    matched: bool = False


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def reconcile(
    conn: psycopg.Connection[Any],
    episodes: Iterable[Episode],
    *,
    clear: Mapping[tuple[str, str], float],
    window_start: float,
    now: float,
    late_after_s: float,
) -> list[Transition]:
    """Apply a tick's episodes in one transaction (the caller commits).

    Args:
        conn: An open connection, inside the caller's transaction.
        episodes: Every episode in the window, any order.
        clear: For (station, rule) pairs whose condition is known clear at the end of the
            window, the data time it was last seen clear; their open alerts resolve.
        window_start: Data time of the window's first column.
        now: Wall-clock time of the tick.
        late_after_s: Episodes that became due longer ago than this are marked late.
    """
    rows = conn.execute(
        "SELECT id, station_id, rule_id, opened_at, severity FROM alerts"
        " WHERE state <> 'resolved' FOR UPDATE"
    ).fetchall()
    open_alerts = {(r[1], r[2]): _Open(r[0], r[3], r[4]) for r in rows}
    changes: list[Transition] = []
    ordered = sorted(episodes, key=lambda e: (e.station_id, e.rule_id, e.opened_at))
    for episode in ordered:
        key = (episode.station_id, episode.rule_id)
        current = open_alerts.get(key)
        if current is not None and not current.matched:
            if episode.continues or current.opened_at == _ts(episode.opened_at):
                current.matched = True
                _follow(conn, current.id, current.severity, episode, changes)
                if episode.resolved_at is not None:
                    del open_alerts[key]
                continue
            if current.opened_at < _ts(episode.opened_at):
                # The open alert's episode ended before this one began.
                _resolve(conn, current.id, episode.opened_at, ENGINE, None, key,
                         current.severity, changes)  # fmt: skip
                del open_alerts[key]
        if episode.continues and _person_resolved_since(conn, key, window_start):
            continue
        _open(conn, episode, late=now - episode.opened_at > late_after_s, changes=changes)
    for key, at in clear.items():
        current = open_alerts.get(key)
        if current is not None and not current.matched:
            _resolve(conn, current.id, at, ENGINE, None, key, current.severity, changes)
    return changes


def _open(
    conn: psycopg.Connection[Any], episode: Episode, *, late: bool, changes: list[Transition]
) -> None:
    """Insert an episode not seen before, in its final state, with all its events."""
    first = episode.escalations[0][1] if episode.escalations else episode.severity
    resolved = episode.resolved_at is not None
    row = conn.execute(
        "INSERT INTO alerts (station_id, rule_id, family, severity, state, opened_at,"
        " resolved_at, resolved_by, late, value, details)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (station_id, rule_id, opened_at) DO NOTHING RETURNING id",
        (episode.station_id, episode.rule_id, episode.family, episode.severity,
         "resolved" if resolved else "open", _ts(episode.opened_at),
         _ts(episode.resolved_at) if episode.resolved_at is not None else None,
         ENGINE if resolved else None, late, episode.value, Jsonb(dict(episode.details))),
    ).fetchone()  # fmt: skip
    key = (episode.station_id, episode.rule_id)
    if row is None:  # known episode (derived again): follow it unless it is over
        existing = conn.execute(
            "SELECT id, severity, state FROM alerts"
            " WHERE station_id = %s AND rule_id = %s AND opened_at = %s",
            (*key, _ts(episode.opened_at)),
        ).fetchone()
        if existing is not None and existing[2] != "resolved":
            _follow(conn, existing[0], existing[1], episode, changes)
        return
    alert_id = int(row[0])
    _event(conn, alert_id, "opened", first, episode.opened_at, ENGINE, None)
    changes.append(Transition(alert_id, *key, "opened", first, late))
    for at, tier in episode.escalations[1:]:
        _event(conn, alert_id, "escalated", tier, at, ENGINE, None)
        changes.append(Transition(alert_id, *key, "escalated", tier, late))
    if episode.resolved_at is not None:
        _event(conn, alert_id, "resolved", episode.severity, episode.resolved_at, ENGINE, None)
        changes.append(Transition(alert_id, *key, "resolved", episode.severity, late))


def _follow(
    conn: psycopg.Connection[Any],
    alert_id: int,
    severity: int,
    episode: Episode,
    changes: list[Transition],
) -> None:
    key = (episode.station_id, episode.rule_id)
    for at, tier in episode.escalations[1:]:
        if tier > severity:
            conn.execute(
                "UPDATE alerts SET severity = %s, updated_at = now() WHERE id = %s",
                (tier, alert_id),
            )
            _event(conn, alert_id, "escalated", tier, at, ENGINE, None)
            changes.append(Transition(alert_id, *key, "escalated", tier))
            severity = tier
    if episode.severity > severity:
        conn.execute(
            "UPDATE alerts SET severity = %s, updated_at = now() WHERE id = %s",
            (episode.severity, alert_id),
        )
        _event(conn, alert_id, "escalated", episode.severity, None, ENGINE, None)
        changes.append(Transition(alert_id, *key, "escalated", episode.severity))
        severity = episode.severity
    if episode.resolved_at is not None:
        _resolve(conn, alert_id, episode.resolved_at, ENGINE, None, key, severity, changes)


def _resolve(
    conn: psycopg.Connection[Any],
    alert_id: int,
    at: float,
    actor: str,
    note: str | None,
    key: tuple[str, str],
    severity: int,
    changes: list[Transition],
) -> None:
    conn.execute(
        "UPDATE alerts SET state = 'resolved', resolved_at = %s, resolved_by = %s,"
        " updated_at = now() WHERE id = %s AND state <> 'resolved'",
        (_ts(at), actor, alert_id),
    )
    _event(conn, alert_id, "resolved", severity, at, actor, note)
    changes.append(Transition(alert_id, *key, "resolved", severity))


def _event(
    conn: psycopg.Connection[Any],
    alert_id: int,
    kind: str,
    severity: int,
    data_time: float | None,
    actor: str,
    note: str | None,
) -> None:
    conn.execute(
        "INSERT INTO alert_events (alert_id, kind, severity, data_time, actor, note)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (alert_id, kind, severity, None if data_time is None else _ts(data_time), actor, note),
    )


def _person_resolved_since(
    conn: psycopg.Connection[Any], key: tuple[str, str], since: float
) -> bool:
    """Whether a person resolved this pair's alert while its condition was holding."""
    row = conn.execute(
        "SELECT 1 FROM alerts WHERE station_id = %s AND rule_id = %s"
        " AND resolved_by IS DISTINCT FROM %s AND resolved_at >= %s LIMIT 1",
        (*key, ENGINE, _ts(since)),
    ).fetchone()
    return row is not None


def acknowledge(
    conn: psycopg.Connection[Any], alert_id: int, *, actor: str, note: str | None
) -> None:
    """An officer or farmer has seen the alert (it stays until its condition clears).

    Raises:
        AlertError: No such open alert.
    """
    row = conn.execute(
        "UPDATE alerts SET state = 'acknowledged', updated_at = now()"
        " WHERE id = %s AND state = 'open' RETURNING severity",
        (alert_id,),
    ).fetchone()
    if row is None:
        msg = f"alert {alert_id} is not open"
        raise AlertError(msg)
    _event(conn, alert_id, "acknowledged", int(row[0]), None, actor, note)


def resolve(conn: psycopg.Connection[Any], alert_id: int, *, actor: str, note: str) -> Transition:
    """A person resolves an alert, with a note; the engine will not reopen that episode.

    Returns:
        The transition, for the caller to notify in the same transaction (``fan_out``).

    Raises:
        AlertError: No such unresolved alert.
    """
    row = conn.execute(
        "UPDATE alerts SET state = 'resolved', resolved_at = now(), resolved_by = %s,"
        " updated_at = now() WHERE id = %s AND state <> 'resolved'"
        " RETURNING severity, station_id, rule_id",
        (actor, alert_id),
    ).fetchone()
    if row is None:
        msg = f"alert {alert_id} is not open"
        raise AlertError(msg)
    _event(conn, alert_id, "resolved", int(row[0]), None, actor, note)
    return Transition(alert_id, str(row[1]), str(row[2]), "resolved", int(row[0]))
