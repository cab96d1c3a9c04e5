"""The notification outbox: rows written with the alert transitions that cause them.

``fan_out`` runs inside the alert engine's transaction, so an alert and its messages commit
together or not at all: one row per recipient, each with an idempotency key, so deriving the
same transition again adds nothing. What the rows say is decided when a notifier claims them
(``claim``), under the recipient's row lock: rate limits, quiet hours, digests, the budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from alerts.notify.states import Kind
from alerts.persistence.lifecycle import Transition

__all__ = ["enqueue_notice", "escalate", "fan_out"]


def fan_out(conn: psycopg.Connection[Any], transitions: Sequence[Transition]) -> int:
    """Write the notifications a tick's transitions cause, in the caller's transaction.

    Opened and escalated alerts go to the station's subscribers whose minimum severity they
    reach; a resolved alert to those who were told about it. An alert that opened and
    resolved within the same tick (late data) is history, not news: nobody is told.

    Returns:
        How many rows were written.
    """
    opened = {t.alert_id for t in transitions if t.kind == "opened"}
    resolved = {t.alert_id for t in transitions if t.kind == "resolved"}
    # An alert that opened and escalated within one tick (a backlog, late data) is one
    # message at its highest tier, not one per tier.
    news: dict[int, Transition] = {}
    for t in sorted(transitions, key=lambda t: t.severity):
        if t.kind in ("opened", "escalated") and t.alert_id not in resolved:
            news[t.alert_id] = t  # the highest tier comes last
    ended = [t for t in transitions if t.kind == "resolved" and t.alert_id not in opened]
    told = [*((t, Kind.ALERT) for t in news.values()), *((t, Kind.RESOLVED) for t in ended)]
    if not told:
        return 0
    # The idempotency key names the kind, the alert, (for an alert) its tier, and the recipient.
    cursor = conn.execute(
        "INSERT INTO notifications (idempotency_key, subscriber_id, phone, kind, alert_id,"
        " station_id, rule_id, severity)"
        " SELECT CASE t.kind WHEN %(alert)s THEN format('%%s:%%s:%%s:%%s', t.kind, t.alert_id,"
        " t.severity, s.id) ELSE format('%%s:%%s:%%s', t.kind, t.alert_id, s.id) END,"
        " s.id, s.phone, t.kind, t.alert_id, t.station_id, t.rule_id, t.severity"
        " FROM unnest(%(alert_ids)s::bigint[], %(kinds)s::text[], %(stations)s::text[],"
        "  %(rules)s::text[], %(severities)s::smallint[])"
        "  AS t(alert_id, kind, station_id, rule_id, severity)"
        " JOIN subscriptions sub ON sub.station_id = t.station_id"
        " JOIN subscribers s ON s.id = sub.subscriber_id AND s.opted_out_at IS NULL"
        " WHERE (t.kind = %(alert)s AND t.severity >= s.min_severity)"
        "  OR (t.kind = %(resolved)s AND EXISTS (SELECT 1 FROM notifications n"
        "   WHERE n.alert_id = t.alert_id AND n.subscriber_id = s.id AND n.kind = %(alert)s))"
        " ON CONFLICT (idempotency_key) DO NOTHING",
        {
            "alert": Kind.ALERT,
            "resolved": Kind.RESOLVED,
            "alert_ids": [t.alert_id for t, _ in told],
            "kinds": [kind for _, kind in told],
            "stations": [t.station_id for t, _ in told],
            "rules": [t.rule_id for t, _ in told],
            "severities": [t.severity for t, _ in told],
        },
    )
    return cursor.rowcount


def escalate(conn: psycopg.Connection[Any], *, after_s: float) -> int:
    """Send critical alerts nobody acknowledged within ``after_s`` to the officers on duty.

    Returns:
        How many rows were written (each alert and officer once, ever).
    """
    cursor = conn.execute(
        "INSERT INTO notifications (idempotency_key, subscriber_id, phone, kind, alert_id,"
        " station_id, rule_id, severity)"
        " SELECT format('%%s:%%s:%%s', %(escalation)s::text, a.id, s.id), s.id, s.phone,"
        " %(escalation)s, a.id, a.station_id, a.rule_id, a.severity"
        " FROM alerts a JOIN LATERAL (SELECT min(e.created_at) AS since FROM alert_events e"
        "  WHERE e.alert_id = a.id AND e.severity = 3 AND e.kind IN ('opened', 'escalated')) c"
        "  ON c.since < now() - make_interval(secs => %(after_s)s)"
        " CROSS JOIN subscribers s"
        " WHERE a.state = 'open' AND a.severity = 3"
        "  AND s.role = 'officer' AND s.on_duty AND s.opted_out_at IS NULL"
        # Checked first so that polling does not burn identity values on conflicts.
        "  AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.kind = %(escalation)s"
        "   AND n.alert_id = a.id AND n.subscriber_id = s.id)"
        " ON CONFLICT (idempotency_key) DO NOTHING",
        {"escalation": Kind.ESCALATION, "after_s": after_s},
    )
    return cursor.rowcount


def enqueue_notice(
    conn: psycopg.Connection[Any],
    *,
    key: str,
    kind: Kind,
    subscriber_ids: Iterable[int],
    alert_id: int | None = None,
    station_id: str | None = None,
) -> int:
    """Queue a service message (budget notice, reply confirmation) to some subscribers.

    Returns:
        How many rows were written (a key already used writes none).
    """
    cursor = conn.execute(
        "INSERT INTO notifications (idempotency_key, subscriber_id, phone, kind, alert_id,"
        " station_id, severity)"
        " SELECT %s || ':' || s.id, s.id, s.phone, %s, %s, %s, 3 FROM subscribers s"
        " WHERE s.id = ANY(%s) ON CONFLICT (idempotency_key) DO NOTHING",
        (key, kind, alert_id, station_id, list(subscriber_ids)),
    )
    return cursor.rowcount
