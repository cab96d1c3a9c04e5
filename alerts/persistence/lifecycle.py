"""Alert lifecycle: episodes derived from data become alerts and events, exactly once.

Each tick the engine re-derives, from its window of committed data, the episodes of every
rule's condition (when it became due, its highest tier, when it cleared). ``reconcile`` turns
them into rows: an episode's identity is (station, rule, due time), so deriving it again
after a restart, or from late data, changes nothing; at most one alert per station and rule
is open; an alert a person resolved is not reopened while its condition goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import class_row
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
    " WHERE state <> {resolved} AND station_id = ANY(%s) FOR UPDATE"
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
    ordered = sorted(_final(episodes), key=lambda e: (e.station_id, e.rule_id, e.opened_at))
    # Only the stations this tick speaks about: a worker locks no other worker's alerts.
    stations = sorted({e.station_id for e in ordered} | {station for station, _ in clear})
    with conn.cursor(row_factory=class_row(_Open)) as cur:
        open_alerts = {(a.station_id, a.rule_id): a for a in cur.execute(_UNRESOLVED, (stations,))}
    changes: list[Transition] = []
    to_open: list[AlertEpisode] = []
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
        to_open.append(episode)
    held = _person_resolved_since(
        conn, [(e.station_id, e.rule_id) for e in to_open if e.continues], window_start
    )
    to_open = [e for e in to_open if not (e.continues and (e.station_id, e.rule_id) in held)]
    late = [now - e.opened_at > late_after_s for e in to_open]
    changes += open_episodes(conn, to_open, late=late)
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


def open_episodes(
    conn: psycopg.Connection[Any], episodes: Sequence[AlertEpisode], *, late: Sequence[bool]
) -> list[Transition]:
    """Insert episodes not seen before, in their final state, with all their events.

    One statement for the alerts and one for their events, however many (a first start
    opens thousands), their arrays sent in binary (``%b``: quoting them as text took 0.7 s
    of a start that opened 14,288 alerts). An episode already stored (derived again) is
    followed unless it is over. ``late[i]`` marks episode ``i`` as raised from late or
    backfilled data.

    Returns:
        The transitions, in the order of ``episodes``.
    """
    if not episodes:
        return []
    lateness = dict(zip(map(_identity, episodes), late, strict=True))
    episodes = _final(episodes)
    late = [lateness[_identity(e)] for e in episodes]
    with conn.cursor(row_factory=class_row(_Inserted)) as cur:
        inserted = {
            (row.station_id, row.rule_id, row.opened_at): row.id
            for row in cur.execute(
                "INSERT INTO alerts (station_id, rule_id, family, severity, state, opened_at,"
                " resolved_at, resolved_by, late, value, details)"
                " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::smallint[],"
                "  %b::text[], %b::timestamptz[], %b::timestamptz[], %b::text[], %b::boolean[],"
                "  %b::float8[], %b::jsonb[])"
                " ON CONFLICT (station_id, rule_id, opened_at) DO NOTHING"
                " RETURNING id, station_id, rule_id, opened_at",
                (
                    [e.station_id for e in episodes],
                    [e.rule_id for e in episodes],
                    [str(e.family) for e in episodes],
                    [int(e.severity) for e in episodes],
                    [str(_state(e)) for e in episodes],
                    [_ts(e.opened_at) for e in episodes],
                    [None if e.resolved_at is None else _ts(e.resolved_at) for e in episodes],
                    [None if e.resolved_at is None else ENGINE for e in episodes],
                    list(late),
                    [e.value for e in episodes],
                    [Jsonb(dict(e.details)) for e in episodes],
                ),
            )
        }
    changes: list[Transition] = []
    events: list[tuple[int, EventKind, Severity, float | None]] = []
    known: list[AlertEpisode] = []
    for episode, is_late in zip(episodes, late, strict=True):
        alert_id = inserted.pop((episode.station_id, episode.rule_id, _ts(episode.opened_at)), None)
        if alert_id is None:  # known episode (derived again), or twice in this batch
            known.append(episode)
            continue
        key = (episode.station_id, episode.rule_id)
        first = episode.escalations[0][1] if episode.escalations else episode.severity
        steps = [(EventKind.OPENED, first, episode.opened_at)]
        steps += [(EventKind.ESCALATED, tier, at) for at, tier in episode.escalations[1:]]
        if episode.resolved_at is not None:
            steps.append((EventKind.RESOLVED, episode.severity, episode.resolved_at))
        for kind, tier, at in steps:
            events.append((alert_id, kind, tier, at))
            changes.append(Transition(alert_id, *key, kind, tier, is_late))
    _events(conn, events)
    _follow_known(conn, known, changes)
    return changes


@dataclass(frozen=True, slots=True)
class _Inserted:
    """An alert just inserted: its id and identity."""

    id: int
    station_id: str
    rule_id: str
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class _Stored:
    """An episode's alert already stored: its identity and where it stands."""

    id: int
    station_id: str
    rule_id: str
    opened_at: datetime
    severity: Severity
    state: AlertState

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(self, "state", AlertState(self.state))


def _identity(episode: AlertEpisode) -> tuple[str, str, float]:
    return (episode.station_id, episode.rule_id, episode.opened_at)


def _final(episodes: Iterable[AlertEpisode]) -> list[AlertEpisode]:
    """One episode per identity: the last given, which a detector derived with the most
    of its history (an episode is reported again as it escalates and when it resolves)."""
    return list({_identity(e): e for e in episodes}.values())


def _state(episode: AlertEpisode) -> AlertState:
    return AlertState.OPEN if episode.resolved_at is None else AlertState.RESOLVED


def _follow_known(
    conn: psycopg.Connection[Any], episodes: Sequence[AlertEpisode], changes: list[Transition]
) -> None:
    """Follow the stored alerts of episodes derived again (one read for all of them)."""
    if not episodes:
        return
    with conn.cursor(row_factory=class_row(_Stored)) as cur:
        stored = {
            (row.station_id, row.rule_id, row.opened_at): row
            for row in cur.execute(
                "SELECT a.id, a.station_id, a.rule_id, a.opened_at, a.severity, a.state"
                " FROM alerts a JOIN unnest(%b::text[], %b::text[], %b::timestamptz[])"
                "  AS k(station_id, rule_id, opened_at) USING (station_id, rule_id, opened_at)",
                (
                    [e.station_id for e in episodes],
                    [e.rule_id for e in episodes],
                    [_ts(e.opened_at) for e in episodes],
                ),
            )
        }
    for episode in episodes:
        existing = stored.get((episode.station_id, episode.rule_id, _ts(episode.opened_at)))
        if existing is not None and existing.state is not AlertState.RESOLVED:
            _follow(conn, existing.id, existing.severity, episode, changes)


def _events(
    conn: psycopg.Connection[Any], events: Sequence[tuple[int, EventKind, Severity, float | None]]
) -> None:
    """Insert engine events (alert, kind, severity, data time) in one statement."""
    if not events:
        return
    conn.execute(
        "INSERT INTO alert_events (alert_id, kind, severity, data_time, actor)"
        " SELECT alert_id, kind, severity, data_time, %s FROM unnest(%b::bigint[], %b::text[],"
        "  %b::smallint[], %b::timestamptz[]) AS e(alert_id, kind, severity, data_time)",
        (
            ENGINE,
            [e[0] for e in events],
            [str(e[1]) for e in events],
            [int(e[2]) for e in events],
            [None if e[3] is None else _ts(e[3]) for e in events],
        ),
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


def _person_resolved_since(
    conn: psycopg.Connection[Any], keys: Sequence[RuleAt], since: float
) -> set[RuleAt]:
    """Which pairs had an alert a person resolved while its condition was holding."""
    if not keys:
        return set()
    rows = conn.execute(
        "SELECT DISTINCT a.station_id, a.rule_id FROM alerts a"
        " JOIN unnest(%s::text[], %s::text[]) AS k(station_id, rule_id) USING (station_id, rule_id)"
        " WHERE a.resolved_by IS DISTINCT FROM %s AND a.resolved_at >= %s",
        ([k[0] for k in keys], [k[1] for k in keys], ENGINE, _ts(since)),
    ).fetchall()
    return {(str(station), str(rule)) for station, rule in rows}


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
