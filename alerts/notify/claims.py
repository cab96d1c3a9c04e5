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
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import class_row, scalar_row
from pydantic import BaseModel, ConfigDict

from alerts.notify.channels import Sms
from alerts.notify.outbox import enqueue_notice
from alerts.notify.policy import Action, Decision, Facts, Limits, Reason, decide, local_midnight
from alerts.notify.settings import NotifySettings
from alerts.notify.states import (
    ALERT_KINDS,
    CAP_COUNTED_KINDS,
    SENT_STATES,
    TOLD_STATES,
    Kind,
    State,
)
from alerts.notify.templates import (
    AlertFacts,
    DigestItem,
    Language,
    Rendered,
    alert_code,
    render_alert,
    render_digest,
    render_notice,
    rule_text,
)
from alerts.notify.text import Coding

__all__ = ["claim", "recover"]

# States in the predicates of partial indexes (migrations 0006, 0008) are written into the
# SQL as literals, not passed as parameters: a prepared statement's generic plan can use
# such an index only if its predicate is in the query's text.
_PENDING: Final = sql.Literal(State.PENDING)
_SENDING: Final = sql.Literal(State.SENDING)
_SENT: Final = sql.SQL(", ").join(sql.Literal(s) for s in sorted(SENT_STATES))
_SETTLED: Final = {
    Action.HOLD: State.HELD,
    Action.SUPPRESS: State.SUPPRESSED,
    Action.CANCEL: State.CANCELLED,
}
"""The state each action other than SEND and POSTPONE leaves a notification in."""


class _Due(BaseModel):
    """A due outbox row, as claimed."""

    model_config = ConfigDict(frozen=True)

    id: int
    kind: Kind
    phone: str
    subscriber_id: int | None
    alert_id: int | None
    station_id: str | None
    rule_id: str | None
    severity: int
    text: str | None
    coding: int | None
    attempts: int


class _Recipient(BaseModel):
    """What the words and the policy need to know of a subscriber."""

    model_config = ConfigDict(frozen=True)

    id: int
    language: Language
    diacritics: bool
    quiet_start: time | None
    quiet_end: time | None
    subscribed: bool

    @property
    def quiet(self) -> tuple[time, time] | None:
        """Quiet hours (local start, end), or None."""
        if self.quiet_start is None or self.quiet_end is None:
            return None
        return self.quiet_start, self.quiet_end


class _Alert(BaseModel):
    """An alert with its station's names and its threshold profile's words, if it has one."""

    model_config = ConfigDict(frozen=True)

    id: int
    station_id: str
    value: float | None
    opened_at: datetime
    state: str
    rule_id: str
    name_vi: str
    name_en: str
    quantity: str | None
    units: str | None
    message_vi: str | None
    message_en: str | None


class _Held(BaseModel):
    """A held notification folded into a digest."""

    model_config = ConfigDict(frozen=True)

    alert_id: int | None
    severity: int
    kind: Kind
    station_id: str | None
    rule_id: str | None
    recent: bool


class _Known(BaseModel):
    """What the outbox knew of a due row's recipient when the batch was claimed."""

    model_config = ConfigDict(frozen=True)

    id: int
    cooled: int | None
    was_sent: bool
    last_hour: int


class _Told(BaseModel):
    """An alert message this claim told a recipient of (sent now, or digested now)."""

    model_config = ConfigDict(frozen=True)

    subscriber_id: int | None
    alert_id: int | None
    station_id: str | None
    rule_id: str | None
    severity: int
    recent: bool
    """Claimed within the cooldown."""


@dataclass(frozen=True, slots=True)
class _About:
    """What messages about one alert need: its facts (at its first tier), whether it is over."""

    facts: AlertFacts
    resolved: bool
    acknowledged: bool


_ALERT_SQL: Final = (
    "SELECT a.id, a.station_id, a.value, a.opened_at, a.state, a.rule_id,"
    " coalesce(st.name_vi, a.station_id) AS name_vi,"
    " coalesce(st.name_en, a.station_id) AS name_en,"
    " tp.quantity, tp.units, tp.message_vi, tp.message_en"
    " FROM alerts a LEFT JOIN stations st ON st.id = a.station_id"
    " LEFT JOIN threshold_profiles tp ON tp.station_id = a.station_id AND tp.rule_id = a.rule_id"
    " WHERE a.id = ANY(%s)"
)
_DUE_SQL: Final = sql.SQL(
    "SELECT id, kind, phone, subscriber_id, alert_id, station_id, rule_id, severity,"
    " text, coding, attempts FROM notifications"
    " WHERE state = {pending} AND not_before <= now()"
    " ORDER BY not_before, id LIMIT %s FOR UPDATE SKIP LOCKED"
).format(pending=_PENDING)
_BUDGET_SQL: Final = "SELECT used FROM sms_budget WHERE day = %s FOR UPDATE"
_KNOWN_SQL: Final = sql.SQL(
    "SELECT d.id,"
    " CASE WHEN d.kind = %(alert)s THEN (SELECT max(n.severity) FROM notifications n"
    "  WHERE n.subscriber_id = d.subscriber_id AND n.station_id = d.station_id"
    "  AND n.rule_id = d.rule_id AND n.kind = %(alert)s AND n.state = ANY(%(told)s)"
    "  AND n.id <> d.id AND n.claimed_at > now() - make_interval(secs => %(cooldown_s)s))"
    " END AS cooled,"
    " d.kind <> %(resolved)s OR EXISTS (SELECT 1 FROM notifications n"
    "  WHERE n.subscriber_id = d.subscriber_id AND n.alert_id = d.alert_id"
    "  AND n.kind = %(alert)s AND n.state = ANY(%(told)s)) AS was_sent,"
    " (SELECT count(*) FROM notifications n WHERE n.subscriber_id = d.subscriber_id"
    "  AND n.kind = ANY(%(counted)s) AND n.state IN ({sent})"
    "  AND n.claimed_at > now() - interval '1 hour') AS last_hour"
    " FROM notifications d WHERE d.id = ANY(%(ids)s)"
).format(sent=_SENT)
"""Per due row, in one query for the batch: the highest tier of its station and rule told
its recipient within the cooldown (alerts), whether its recipient was told its alert
(``resolved``), and what its recipient's hourly cap has counted."""


def recover(conn: psycopg.Connection[Any], *, in_doubt_s: float) -> int:
    """Make sends cut short, with no delivery report for ``in_doubt_s``, due again."""
    cursor = conn.execute(
        sql.SQL(
            "UPDATE notifications SET state = %s, not_before = now(),"
            " reason = 'sent again: no report after an interrupted send'"
            " WHERE state = {sending} AND claimed_at < now() - make_interval(secs => %s)"
        ).format(sending=_SENDING),
        (State.PENDING, in_doubt_s),
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
        with conn.cursor(row_factory=class_row(_Due)) as cursor:
            rows = cursor.execute(_DUE_SQL, (settings.batch_size,)).fetchall()
        if not rows:
            return out
        recipients = _recipients(conn, sorted({r.subscriber_id for r in rows if r.subscriber_id}))
        alerts = _alert_facts(conn, [r.alert_id for r in rows if r.alert_id is not None])
        today = local_midnight(now)
        sent_today = _budget_used(conn, today)
        added = 0
        known = _known(conn, rows, cooldown_s=settings.cooldown_s)
        hourly: dict[int, int] = {}
        told: list[_Told] = []  # what this claim changed since ``known`` was read
        for row in rows:
            if row.subscriber_id is not None and row.subscriber_id not in recipients:
                continue  # someone else holds the subscriber (a reply, an edit): next poll
            recipient = recipients.get(row.subscriber_id or -1)
            sub = row.subscriber_id or -1
            if sub not in hourly:
                hourly[sub] = known[row.id].last_hour
            if row.attempts > 0 or row.text is not None:
                decision = Decision(Action.SEND)  # decided before; this is a retry
            else:
                facts = _facts(
                    row,
                    known[row.id],
                    told,
                    recipient,
                    alerts,
                    now=now,
                    sent_today=sent_today,
                    sent_last_hour=hourly[sub],
                )
                decision = decide(facts, limits)
            sms = _apply(
                conn,
                row,
                decision,
                recipient,
                alerts,
                told,
                worker=worker,
                settings=settings,
                today=today,
            )
            if sms is not None:
                out.append(sms)
                sent_today += 1
                if row.attempts == 0 and row.text is None:  # a retry was counted before
                    added += 1
                if row.kind in CAP_COUNTED_KINDS:  # as the count from the database does
                    hourly[sub] += 1
                if row.kind == Kind.ALERT:
                    told.append(_Told.model_validate({**row.model_dump(), "recent": True}))
        if added:
            conn.execute(
                "UPDATE sms_budget SET used = used + %s WHERE day = %s", (added, today.date())
            )
    return out


def _budget_used(conn: psycopg.Connection[Any], today: datetime) -> int:
    """The SMS sent on the local day starting at ``today``, its counter locked until commit.

    The lock makes notifiers decide against the budget one at a time (claims are short:
    they commit before any send). A day's counter starts from what the outbox shows sent.
    """
    with conn.cursor(row_factory=scalar_row) as cursor:
        used = cursor.execute(_BUDGET_SQL, (today.date(),)).fetchone()
        if used is None:
            cursor.execute(
                sql.SQL(
                    "INSERT INTO sms_budget (day, used) SELECT %s, count(*) FROM notifications"
                    " WHERE state IN ({sent}) AND claimed_at >= %s ON CONFLICT (day) DO NOTHING"
                ).format(sent=_SENT),
                (today.date(), today),
            )
            used = cursor.execute(_BUDGET_SQL, (today.date(),)).fetchone()
    return int(used or 0)


def _known(
    conn: psycopg.Connection[Any], rows: Sequence[_Due], *, cooldown_s: float
) -> dict[int, _Known]:
    with conn.cursor(row_factory=class_row(_Known)) as cursor:
        found = cursor.execute(
            _KNOWN_SQL,
            {
                "alert": Kind.ALERT,
                "resolved": Kind.RESOLVED,
                "told": list(TOLD_STATES),
                "counted": list(CAP_COUNTED_KINDS),
                "cooldown_s": cooldown_s,
                "ids": [r.id for r in rows],
            },
        ).fetchall()
    return {k.id: k for k in found}


def _recipients(conn: psycopg.Connection[Any], ids: list[int]) -> dict[int, _Recipient]:
    # NO KEY UPDATE: serialises decisions per recipient between notifiers, without blocking
    # the alert engine's inserts (their foreign keys take KEY SHARE). SKIP LOCKED: a claim
    # holds outbox rows already, and an opt-out or a subscriber edit locks the subscriber
    # before its outbox rows; waiting here could deadlock with it, so those rows wait.
    with conn.cursor(row_factory=class_row(_Recipient)) as cursor:
        rows = cursor.execute(
            "SELECT id, language, diacritics, quiet_start, quiet_end,"
            " opted_out_at IS NULL AS subscribed"
            " FROM subscribers WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED",
            (ids,),
        ).fetchall()
    return {r.id: r for r in rows}


def _alert_facts(conn: psycopg.Connection[Any], ids: Sequence[int]) -> dict[int, _About]:
    """What messages need to say about each alert."""
    with conn.cursor(row_factory=class_row(_Alert)) as cursor:
        rows = cursor.execute(_ALERT_SQL, (list(ids),)).fetchall()
    found = {}
    for r in rows:
        advice: Mapping[Language, str]
        if r.quantity is not None:
            quantity, units = r.quantity, r.units or ""
            advice = {"vi": r.message_vi or "", "en": r.message_en or ""}
        else:
            quantity, units, advice = rule_text(r.rule_id)
        facts = AlertFacts(
            alert_id=r.id,
            station_id=r.station_id,
            station={"vi": r.name_vi, "en": r.name_en},
            quantity=quantity,
            units=units,
            value=r.value,
            advice=advice,
            severity=1,
            at=r.opened_at,
        )
        found[r.id] = _About(
            facts=facts, resolved=r.state == "resolved", acknowledged=r.state == "acknowledged"
        )
    return found


def _facts(
    row: _Due,
    known: _Known,
    told: Sequence[_Told],
    recipient: _Recipient | None,
    alerts: Mapping[int, _About],
    *,
    now: datetime,
    sent_today: int,
    sent_last_hour: int,
) -> Facts:
    about = alerts.get(row.alert_id) if row.alert_id is not None else None
    mine = [
        t for t in told if row.subscriber_id is not None and t.subscriber_id == row.subscriber_id
    ]
    cooled = known.cooled
    if row.kind == Kind.ALERT:
        tiers = [
            t.severity
            for t in mine
            if t.recent and (t.station_id, t.rule_id) == (row.station_id, row.rule_id)
        ]
        cooled = max([*tiers, *([] if cooled is None else [cooled])], default=None)
    was_sent = known.was_sent or (
        row.kind == Kind.RESOLVED and any(t.alert_id == row.alert_id for t in mine)
    )
    return Facts(
        kind=row.kind,
        severity=row.severity,
        now=now,
        subscribed=recipient is not None and recipient.subscribed,
        alert_resolved=about is not None and about.resolved,
        alert_acknowledged=about is not None and about.acknowledged,
        alert_was_sent=was_sent,
        quiet=recipient.quiet if recipient else None,
        cooled_severity=cooled,
        sent_last_hour=sent_last_hour,
        sent_today=sent_today,
    )


def _apply(
    conn: psycopg.Connection[Any],
    row: _Due,
    decision: Decision,
    recipient: _Recipient | None,
    alerts: Mapping[int, _About],
    told: list[_Told],
    *,
    worker: str,
    settings: NotifySettings,
    today: datetime,
) -> Sms | None:
    reason = decision.reason.text if decision.reason is not None else None
    if decision.action is Action.POSTPONE:
        conn.execute(
            "UPDATE notifications SET not_before = %s, reason = %s WHERE id = %s",
            (decision.until, reason, row.id),
        )
        return None
    if decision.action is not Action.SEND:
        _settle(conn, row.id, _SETTLED[decision.action], reason)
        if decision.action is Action.HOLD:
            conn.execute(
                "INSERT INTO notifications (idempotency_key, subscriber_id, phone, kind,"
                " severity, not_before) VALUES (%s, %s, %s, %s, 1,"
                " now() + make_interval(secs => %s)) ON CONFLICT DO NOTHING",
                (
                    f"{Kind.DIGEST}:{row.subscriber_id}:{row.id}",
                    row.subscriber_id,
                    row.phone,
                    Kind.DIGEST,
                    settings.digest_delay_s,
                ),
            )
        if decision.reason is Reason.DAILY_BUDGET:
            with conn.cursor(row_factory=scalar_row) as cursor:
                officers = cursor.execute(
                    "SELECT id FROM subscribers WHERE role = 'officer' AND on_duty"
                    " AND opted_out_at IS NULL"
                ).fetchall()
            enqueue_notice(
                conn, key=f"{Kind.BUDGET}:{today.date()}", kind=Kind.BUDGET, subscriber_ids=officers
            )
        return None
    rendered = _words(conn, row, recipient, alerts, told, settings=settings)
    if rendered is None:
        _settle(conn, row.id, State.CANCELLED, "nothing left to say")
        return None
    conn.execute(
        "UPDATE notifications SET state = %s, text = %s, coding = %s, segments = %s,"
        " attempts = attempts + 1, claimed_by = %s, claimed_at = now(), reason = NULL"
        " WHERE id = %s",
        (State.SENDING, rendered.text, int(rendered.coding), rendered.segments, worker, row.id),
    )
    return Sms(row.id, row.phone, rendered.text, rendered.coding)


def _settle(conn: psycopg.Connection[Any], id_: int, state: State, reason: str | None) -> None:
    conn.execute(
        "UPDATE notifications SET state = %s, reason = %s, claimed_at = now() WHERE id = %s",
        (state, reason, id_),
    )


def _words(
    conn: psycopg.Connection[Any],
    row: _Due,
    recipient: _Recipient | None,
    alerts: Mapping[int, _About],
    told: list[_Told],
    *,
    settings: NotifySettings,
) -> Rendered | None:
    if row.text is not None:  # a retry says exactly what the first attempt said
        return Rendered(row.text, Coding(row.coding or 0), 0)
    language: Language = recipient.language if recipient else "vi"
    diacritics = recipient.diacritics if recipient else False
    if row.kind == Kind.DIGEST:
        with conn.cursor(row_factory=class_row(_Held)) as cursor:
            held = cursor.execute(
                "UPDATE notifications SET state = %s, digest_id = %s"
                " WHERE subscriber_id = %s AND state = %s RETURNING alert_id, severity, kind,"
                " station_id, rule_id,"
                " coalesce(claimed_at > now() - make_interval(secs => %s), false) AS recent",
                (State.DIGESTED, row.id, row.subscriber_id, State.HELD, settings.cooldown_s),
            ).fetchall()
        told.extend(  # digested: told, for the cooldown and ``resolved`` of later rows
            _Told(subscriber_id=row.subscriber_id, **h.model_dump(exclude={"kind"}))
            for h in held
            if h.kind == Kind.ALERT
        )
        known = _alert_facts(conn, [h.alert_id for h in held if h.alert_id is not None])
        items = [
            DigestItem(
                alert_id=h.alert_id,
                station_id=known[h.alert_id].facts.station_id,
                quantity=known[h.alert_id].facts.quantity,
                value=known[h.alert_id].facts.value,
                severity=h.severity,
            )
            for h in held
            if h.alert_id is not None and h.alert_id in known
        ]
        return render_digest(items, language=language, diacritics=diacritics) if items else None
    if row.kind in ALERT_KINDS:
        if row.alert_id is None or row.alert_id not in alerts:
            return None
        facts = replace(alerts[row.alert_id].facts, severity=row.severity)
        minutes = max(1, round(settings.escalate_after_s / 60))
        return render_alert(
            row.kind, facts, language=language, diacritics=diacritics, minutes=minutes
        )
    return render_notice(
        row.kind,
        language=language,
        diacritics=diacritics,
        budget=str(settings.daily_budget),
        station=row.station_id or "",
        code=alert_code(row.alert_id) if row.alert_id is not None else "",
    )
