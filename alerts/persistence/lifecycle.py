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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import class_row, scalar_row
from psycopg.types.json import Jsonb

from alerts.detectors.findings import AlertEpisode, RuleAt
from alerts.errors import AlertNotOpenError
from alerts.states import AlertState, EventKind, Severity

logger = logging.getLogger(__name__)

ENGINE: Final = "engine"
"""The actor of what the engine does (``alerts.resolved_by``, ``alert_events.actor``)."""


@dataclass(frozen=True, slots=True)
class Transition:
    """A change made to an alert."""

    alert_id: int
    station_id: str
    rule_id: str
    kind: EventKind
    severity: Severity
    late: bool = False


@dataclass(slots=True)
class _Open:
    """An unresolved alert, as ``reconcile`` reads it."""

    id: int
    station_id: str
    rule_id: str
    opened_at: datetime
    severity: Severity
    matched: bool = False

    def __post_init__(self) -> None:
        self.severity = Severity(self.severity)


@dataclass(frozen=True, slots=True)
class _Known:
    """An alert of an episode derived again."""

    id: int
    severity: Severity
    state: AlertState

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(self, "state", AlertState(self.state))


@dataclass(frozen=True, slots=True)
class _Changed:
    """An alert a person changed."""

    severity: Severity
    station_id: str
    rule_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# A literal, not a parameter: the planner then uses the partial index of unresolved alerts.
_UNRESOLVED: Final = sql.SQL(
    "SELECT id, station_id, rule_id, opened_at, severity FROM alerts"
    " WHERE state <> {resolved} FOR UPDATE"
).format(resolved=sql.Literal(AlertState.RESOLVED.value))


def reconcile(
    conn: psycopg.Connection[Any],
    episodes: Iterable[AlertEpisode],
    *,
    clear: Mapping[RuleAt, float],
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
    with conn.cursor(row_factory=class_row(_Open)) as cur:
        open_alerts = {(a.station_id, a.rule_id): a for a in cur.execute(_UNRESOLVED)}
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
                _resolve(
                    conn,
                    current.id,
                    episode.opened_at,
                    actor=ENGINE,
                    note=None,
                    key=key,
                    severity=current.severity,
                    changes=changes,
                )
                del open_alerts[key]
        if episode.continues and _person_resolved_since(conn, key, window_start):
            continue
        _open(conn, episode, late=now - episode.opened_at > late_after_s, changes=changes)
    for key, at in clear.items():
        current = open_alerts.get(key)
        if current is not None and not current.matched:
            _resolve(
                conn,
                current.id,
                at,
                actor=ENGINE,
                note=None,
                key=key,
                severity=current.severity,
                changes=changes,
            )
    return changes


def _open(
    conn: psycopg.Connection[Any],
    episode: AlertEpisode,
    *,
    late: bool,
    changes: list[Transition],
) -> None:
    """Insert an episode not seen before, in its final state, with all its events."""
    first = episode.escalations[0][1] if episode.escalations else episode.severity
    resolved = episode.resolved_at is not None
    with conn.cursor(row_factory=scalar_row) as cur:
        inserted: int | None = cur.execute(
            "INSERT INTO alerts (station_id, rule_id, family, severity, state, opened_at,"
            " resolved_at, resolved_by, late, value, details)"
            " VALUES (%(station_id)s, %(rule_id)s, %(family)s, %(severity)s, %(state)s,"
            " %(opened_at)s, %(resolved_at)s, %(resolved_by)s, %(late)s, %(value)s, %(details)s)"
            " ON CONFLICT (station_id, rule_id, opened_at) DO NOTHING RETURNING id",
            {
                "station_id": episode.station_id,
                "rule_id": episode.rule_id,
                "family": episode.family,
                "severity": episode.severity,
                "state": AlertState.RESOLVED if resolved else AlertState.OPEN,
                "opened_at": _ts(episode.opened_at),
                "resolved_at": None if episode.resolved_at is None else _ts(episode.resolved_at),
                "resolved_by": ENGINE if resolved else None,
                "late": late,
                "value": episode.value,
                "details": Jsonb(dict(episode.details)),
            },
        ).fetchone()
    key = (episode.station_id, episode.rule_id)
    station_id, rule_id = key
    if inserted is None:  # known episode (derived again): follow it unless it is over
        with conn.cursor(row_factory=class_row(_Known)) as cur:
            existing = cur.execute(
                "SELECT id, severity, state FROM alerts"
                " WHERE station_id = %s AND rule_id = %s AND opened_at = %s",
                (*key, _ts(episode.opened_at)),
            ).fetchone()
        if existing is not None and existing.state is not AlertState.RESOLVED:
            _follow(conn, existing.id, existing.severity, episode, changes)
        return
    alert_id = inserted
    _event(conn, alert_id, EventKind.OPENED, first, episode.opened_at, ENGINE, None)
    changes.append(Transition(alert_id, station_id, rule_id, EventKind.OPENED, first, late))
    for at, tier in episode.escalations[1:]:
        _event(conn, alert_id, EventKind.ESCALATED, tier, at, ENGINE, None)
        changes.append(Transition(alert_id, station_id, rule_id, EventKind.ESCALATED, tier, late))
    if episode.resolved_at is not None:
        _event(
            conn,
            alert_id,
            EventKind.RESOLVED,
            episode.severity,
            episode.resolved_at,
            ENGINE,
            None,
        )
        changes.append(
            Transition(alert_id, station_id, rule_id, EventKind.RESOLVED, episode.severity, late)
        )


def _follow(
    conn: psycopg.Connection[Any],
    alert_id: int,
    severity: Severity,
    episode: AlertEpisode,
    changes: list[Transition],
) -> None:
    key = (episode.station_id, episode.rule_id)
    for at, tier in episode.escalations[1:]:
        if tier > severity:
            _escalate(conn, alert_id, tier, at, key, changes)
            severity = tier
    if episode.severity > severity:
        _escalate(conn, alert_id, episode.severity, None, key, changes)
        severity = episode.severity
    if episode.resolved_at is not None:
        _resolve(
            conn,
            alert_id,
            episode.resolved_at,
            actor=ENGINE,
            note=None,
            key=key,
            severity=severity,
            changes=changes,
        )


def _escalate(
    conn: psycopg.Connection[Any],
    alert_id: int,
    tier: Severity,
    at: float | None,
    key: RuleAt,
    changes: list[Transition],
) -> None:
    conn.execute(
        "UPDATE alerts SET severity = %s, updated_at = now() WHERE id = %s",
        (tier, alert_id),
    )
    _event(conn, alert_id, EventKind.ESCALATED, tier, at, ENGINE, None)
    changes.append(Transition(alert_id, *key, EventKind.ESCALATED, tier))


def _resolve(
    conn: psycopg.Connection[Any],
    alert_id: int,
    at: float,
    *,
    actor: str,
    note: str | None,
    key: RuleAt,
    severity: Severity,
    changes: list[Transition],
) -> None:
    conn.execute(
        "UPDATE alerts SET state = %(resolved)s, resolved_at = %(at)s, resolved_by = %(actor)s,"
        " updated_at = now() WHERE id = %(id)s AND state <> %(resolved)s",
        {"resolved": AlertState.RESOLVED, "at": _ts(at), "actor": actor, "id": alert_id},
    )
    _event(conn, alert_id, EventKind.RESOLVED, severity, at, actor, note)
    changes.append(Transition(alert_id, *key, EventKind.RESOLVED, severity))


def _event(
    conn: psycopg.Connection[Any],
    alert_id: int,
    kind: EventKind,
    severity: Severity,
    data_time: float | None,
    actor: str,
    note: str | None,
) -> None:
    conn.execute(
        "INSERT INTO alert_events (alert_id, kind, severity, data_time, actor, note)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (alert_id, kind, severity, None if data_time is None else _ts(data_time), actor, note),
    )


def _person_resolved_since(conn: psycopg.Connection[Any], key: RuleAt, since: float) -> bool:
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
        AlertNotOpenError: No such open alert.
    """
    with conn.cursor(row_factory=class_row(_Changed)) as cur:
        changed = cur.execute(
            "UPDATE alerts SET state = %(acknowledged)s, updated_at = now()"
            " WHERE id = %(id)s AND state = %(open)s RETURNING severity, station_id, rule_id",
            {"acknowledged": AlertState.ACKNOWLEDGED, "open": AlertState.OPEN, "id": alert_id},
        ).fetchone()
    if changed is None:
        raise AlertNotOpenError(alert_id)
    _event(conn, alert_id, EventKind.ACKNOWLEDGED, changed.severity, None, actor, note)


def resolve(conn: psycopg.Connection[Any], alert_id: int, *, actor: str, note: str) -> Transition:
    """A person resolves an alert, with a note; the engine will not reopen that episode.

    Returns:
        The transition, for the caller to notify in the same transaction (``fan_out``).

    Raises:
        AlertNotOpenError: No such unresolved alert.
    """
    with conn.cursor(row_factory=class_row(_Changed)) as cur:
        changed = cur.execute(
            "UPDATE alerts SET state = %(resolved)s, resolved_at = now(), resolved_by = %(actor)s,"
            " updated_at = now() WHERE id = %(id)s AND state <> %(resolved)s"
            " RETURNING severity, station_id, rule_id",
            {"resolved": AlertState.RESOLVED, "actor": actor, "id": alert_id},
        ).fetchone()
    if changed is None:
        raise AlertNotOpenError(alert_id)
    _event(conn, alert_id, EventKind.RESOLVED, changed.severity, None, actor, note)
    return Transition(
        alert_id, changed.station_id, changed.rule_id, EventKind.RESOLVED, changed.severity
    )
