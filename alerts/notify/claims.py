"""Claiming due notifications: ``FOR UPDATE SKIP LOCKED``, the policy, the words, one commit.

A claim marks each chosen row ``sending`` with its final text and commits *before* the
channel is called. A worker killed after that leaves the row ``sending``: a delivery report
from the gateway settles it, and only a row with no report for ``in_doubt_s`` is sent again
(``recover``). So a kill never loses a message, and it repeats one only if the gateway had
taken it and then stayed silent for that long.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time
from typing import Any, cast

import psycopg

from alerts.notify.channels import Sms
from alerts.notify.outbox import enqueue_notice
from alerts.notify.policy import Action, Decision, Facts, Limits, decide, local_midnight
from alerts.notify.settings import NotifySettings
from alerts.notify.templates import (
    AlertFacts,
    DigestItem,
    Kind,
    Language,
    Notice,
    Rendered,
    alert_code,
    render_alert,
    render_digest,
    render_notice,
    rule_text,
)
from alerts.notify.text import Coding

__all__ = ["claim", "recover"]

_SENT = "('sending', 'sent', 'delivered')"
_CAPPED = "('alert', 'resolved', 'digest')"
_ALERT_SQL = (
    "SELECT a.id, a.station_id, a.value, a.opened_at, a.state, a.rule_id,"
    " coalesce(st.name_vi, a.station_id), coalesce(st.name_en, a.station_id),"
    " tp.quantity, tp.units, tp.message_vi, tp.message_en"
    " FROM alerts a LEFT JOIN stations st ON st.id = a.station_id"
    " LEFT JOIN threshold_profiles tp ON tp.station_id = a.station_id AND tp.rule_id = a.rule_id"
    " WHERE a.id = ANY(%s)"
)


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    kind: str
    phone: str
    subscriber_id: int | None
    alert_id: int | None
    station_id: str | None
    rule_id: str | None
    severity: int
    text: str | None
    coding: int | None
    attempts: int


@dataclass(frozen=True, slots=True)
class _Recipient:
    language: Language
    diacritics: bool
    quiet: tuple[time, time] | None
    subscribed: bool


def recover(conn: psycopg.Connection[Any], *, in_doubt_s: float) -> int:
    """Make sends cut short, with no delivery report for ``in_doubt_s``, due again."""
    cursor = conn.execute(
        "UPDATE notifications SET state = 'pending', not_before = now(),"
        " reason = 'sent again: no report after an interrupted send'"
        " WHERE state = 'sending' AND claimed_at < now() - make_interval(secs => %s)",
        (in_doubt_s,),
    )
    conn.commit()
    return cursor.rowcount


def claim(
    conn: psycopg.Connection[Any], *, worker: str, settings: NotifySettings, now: datetime
) -> list[Sms]:
    """Claim due notifications, apply the policy, fix their text; commit; return what to send.

    ``now`` (the notifier's clock) places quiet hours and the local day of the budget; the
    outbox's own times (due, claimed) are the database's, which stamped them.
    """
    limits = Limits(hourly_cap=settings.hourly_cap, daily_budget=settings.daily_budget)
    out: list[Sms] = []
    with conn.transaction():
        rows = [
            _Row(*r)
            for r in conn.execute(
                "SELECT id, kind, phone, subscriber_id, alert_id, station_id, rule_id, severity,"
                " text, coding, attempts FROM notifications"
                " WHERE state = 'pending' AND not_before <= now()"
                " ORDER BY not_before, id LIMIT %s FOR UPDATE SKIP LOCKED",
                (settings.batch_size,),
            )
        ]
        if not rows:
            return out
        recipients = _recipients(conn, sorted({r.subscriber_id for r in rows if r.subscriber_id}))
        alerts = _alert_facts(conn, [r.alert_id for r in rows if r.alert_id is not None])
        today = local_midnight(now)
        sent_today = _count(conn, f"state IN {_SENT} AND claimed_at >= %s", (today,))
        hourly: dict[int, int] = {}
        for row in rows:
            if row.subscriber_id is not None and row.subscriber_id not in recipients:
                continue  # someone else holds the subscriber (a reply, an edit): next poll
            recipient = recipients.get(row.subscriber_id or -1)
            sub = row.subscriber_id or -1
            if sub not in hourly:
                hourly[sub] = _count(
                    conn,
                    f"subscriber_id = %s AND kind IN {_CAPPED} AND state IN {_SENT}"
                    " AND claimed_at > now() - interval '1 hour'",
                    (sub,),
                )
            if row.attempts > 0 or row.text is not None:
                decision = Decision(Action.SEND)  # decided before; this is a retry
            else:
                decision = decide(
                    _facts(
                        conn,
                        row,
                        recipient,
                        alerts,
                        now=now,
                        sent_today=sent_today,
                        sent_last_hour=hourly[sub],
                        cooldown_s=settings.cooldown_s,
                    ),
                    limits,
                )
            sms = _apply(
                conn,
                row,
                decision,
                recipient,
                alerts,
                worker=worker,
                settings=settings,
                today=today,
            )
            if sms is not None:
                out.append(sms)
                sent_today += 1
                hourly[sub] += 1
    return out


def _count(conn: psycopg.Connection[Any], where: str, params: Sequence[object]) -> int:
    row = conn.execute(f"SELECT count(*) FROM notifications WHERE {where}", params).fetchone()
    return int(row[0]) if row else 0


def _recipients(conn: psycopg.Connection[Any], ids: list[int]) -> dict[int, _Recipient]:
    # NO KEY UPDATE: serialises decisions per recipient between notifiers, without blocking
    # the alert engine's inserts (their foreign keys take KEY SHARE). SKIP LOCKED: a claim
    # holds outbox rows already, and an opt-out or a subscriber edit locks the subscriber
    # before its outbox rows; waiting here could deadlock with it, so those rows wait.
    rows = conn.execute(
        "SELECT id, language, diacritics, quiet_start, quiet_end, opted_out_at IS NULL"
        " FROM subscribers WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED",
        (ids,),
    ).fetchall()
    return {
        r[0]: _Recipient(
            cast(Language, r[1]), r[2], (r[3], r[4]) if r[3] is not None else None, r[5]
        )
        for r in rows
    }


def _alert_facts(
    conn: psycopg.Connection[Any], ids: Sequence[int]
) -> dict[int, tuple[AlertFacts, str]]:
    """Facts of each alert (at its first tier) and its state."""
    found = {}
    for r in conn.execute(_ALERT_SQL, (list(ids),)):
        advice: Mapping[Language, str]
        if r[8] is not None:
            quantity, units, advice = r[8], r[9], {"vi": r[10], "en": r[11]}
        else:
            quantity, units, advice = rule_text(r[5])
        facts = AlertFacts(
            alert_id=r[0],
            station_id=r[1],
            station={"vi": r[6], "en": r[7]},
            quantity=quantity,
            units=units,
            value=r[2],
            advice=advice,
            severity=1,
            at=r[3],
        )
        found[int(r[0])] = (facts, str(r[4]))
    return found


def _facts(
    conn: psycopg.Connection[Any],
    row: _Row,
    recipient: _Recipient | None,
    alerts: Mapping[int, tuple[AlertFacts, str]],
    *,
    now: datetime,
    sent_today: int,
    sent_last_hour: int,
    cooldown_s: float,
) -> Facts:
    state = alerts[row.alert_id][1] if row.alert_id is not None and row.alert_id in alerts else ""
    cooled = None
    if row.kind == "alert":
        found = conn.execute(
            "SELECT max(severity) FROM notifications WHERE subscriber_id = %s"
            " AND station_id = %s AND rule_id = %s AND kind = 'alert'"
            f" AND state IN {_SENT[:-1]}, 'digested') AND id <> %s"
            " AND claimed_at > now() - make_interval(secs => %s)",
            (row.subscriber_id, row.station_id, row.rule_id, row.id, cooldown_s),
        ).fetchone()
        cooled = found[0] if found else None
    was_sent = True
    if row.kind == "resolved":
        was_sent = (
            _count(
                conn,
                "subscriber_id = %s AND alert_id = %s AND kind = 'alert'"
                f" AND state IN {_SENT[:-1]}, 'digested')",
                (row.subscriber_id, row.alert_id),
            )
            > 0
        )
    return Facts(
        kind=row.kind,
        severity=row.severity,
        now=now,
        subscribed=recipient is not None and recipient.subscribed,
        alert_resolved=state == "resolved",
        alert_was_sent=was_sent,
        quiet=recipient.quiet if recipient else None,
        cooled_severity=cooled,
        sent_last_hour=sent_last_hour,
        sent_today=sent_today,
    )


def _apply(
    conn: psycopg.Connection[Any],
    row: _Row,
    decision: Decision,
    recipient: _Recipient | None,
    alerts: Mapping[int, tuple[AlertFacts, str]],
    *,
    worker: str,
    settings: NotifySettings,
    today: datetime,
) -> Sms | None:
    if decision.action is Action.POSTPONE:
        conn.execute(
            "UPDATE notifications SET not_before = %s, reason = %s WHERE id = %s",
            (decision.until, decision.reason, row.id),
        )
        return None
    if decision.action is not Action.SEND:
        state = {Action.HOLD: "held", Action.SUPPRESS: "suppressed", Action.CANCEL: "cancelled"}
        _settle(conn, row.id, state[decision.action], decision.reason)
        if decision.action is Action.HOLD:
            conn.execute(
                "INSERT INTO notifications (idempotency_key, subscriber_id, phone, kind,"
                " severity, not_before) VALUES (%s, %s, %s, 'digest', 1,"
                " now() + make_interval(secs => %s)) ON CONFLICT DO NOTHING",
                (
                    f"digest:{row.subscriber_id}:{row.id}",
                    row.subscriber_id,
                    row.phone,
                    settings.digest_delay_s,
                ),
            )
        if decision.reason == "daily budget spent":
            officers = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM subscribers WHERE role = 'officer' AND on_duty"
                    " AND opted_out_at IS NULL"
                )
            ]
            enqueue_notice(
                conn, key=f"budget:{today.date()}", kind="budget", subscriber_ids=officers
            )
        return None
    rendered = _words(conn, row, recipient, alerts, settings=settings)
    if rendered is None:
        _settle(conn, row.id, "cancelled", "nothing left to say")
        return None
    conn.execute(
        "UPDATE notifications SET state = 'sending', text = %s, coding = %s, segments = %s,"
        " attempts = attempts + 1, claimed_by = %s, claimed_at = now(), reason = NULL"
        " WHERE id = %s",
        (rendered.text, int(rendered.coding), rendered.segments, worker, row.id),
    )
    return Sms(row.id, row.phone, rendered.text, rendered.coding)


def _settle(conn: psycopg.Connection[Any], id_: int, state: str, reason: str) -> None:
    conn.execute(
        "UPDATE notifications SET state = %s, reason = %s, claimed_at = now() WHERE id = %s",
        (state, reason, id_),
    )


def _words(
    conn: psycopg.Connection[Any],
    row: _Row,
    recipient: _Recipient | None,
    alerts: Mapping[int, tuple[AlertFacts, str]],
    *,
    settings: NotifySettings,
) -> Rendered | None:
    if row.text is not None:  # a retry says exactly what the first attempt said
        return Rendered(row.text, Coding(row.coding or 0), 0)
    language: Language = recipient.language if recipient else "vi"
    diacritics = recipient.diacritics if recipient else False
    if row.kind == "digest":
        held = conn.execute(
            "UPDATE notifications SET state = 'digested', digest_id = %s"
            " WHERE subscriber_id = %s AND state = 'held' RETURNING alert_id, severity",
            (row.id, row.subscriber_id),
        ).fetchall()
        known = _alert_facts(conn, [a for a, _ in held if a is not None])
        items = [
            DigestItem(a, known[a][0].station_id, known[a][0].quantity, known[a][0].value, s)
            for a, s in held
            if a in known
        ]
        return render_digest(items, language=language, diacritics=diacritics) if items else None
    if row.kind in ("alert", "escalation", "resolved"):
        if row.alert_id is None or row.alert_id not in alerts:
            return None
        facts = replace(alerts[row.alert_id][0], severity=row.severity)
        minutes = max(1, round(settings.escalate_after_s / 60))
        return render_alert(
            cast(Kind, row.kind), facts, language=language, diacritics=diacritics, minutes=minutes
        )
    station = row.station_id or ""
    return render_notice(
        cast(Notice, row.kind),
        language=language,
        diacritics=diacritics,
        budget=str(settings.daily_budget),
        station=station,
        code=alert_code(row.alert_id) if row.alert_id is not None else "",
    )
