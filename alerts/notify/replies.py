"""What phones and the gateway tell us: replies (MO messages) and delivery reports.

Replies: ``OK <code>`` acknowledges the alert with that code, if the sender follows its
station or was sent it; ``TU CHOI`` (or ``TỪ CHỐI``, ``STOP``) opts out. Confirmations go
through the outbox like every other message, so they are recorded, retried and sent once;
the HTTP answer to the gateway stays empty.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Final

import psycopg

from alerts.lifecycle import AlertError, acknowledge
from alerts.notify.errors import PhoneError
from alerts.notify.outbox import enqueue_notice
from alerts.notify.phones import mask_phone, normalise_phone
from alerts.notify.subscribers import opt_out
from alerts.notify.templates import parse_alert_code
from alerts.notify.text import to_gsm7

__all__ = ["Reply", "handle_reply", "parse_reply", "record_delivery"]

logger = logging.getLogger(__name__)

_OK: Final = re.compile(r"^OK\s*[:#-]?\s*(?P<code>[0-9A-Z]{1,12})$")
_STOP: Final = frozenset({"TU CHOI", "TUCHOI", "STOP", "HUY", "DUNG"})
# Kannel delivery-report types.
_DELIVERED, _UNDELIVERED, _QUEUED, _ACCEPTED, _REJECTED = 1, 2, 4, 8, 16


@dataclass(frozen=True, slots=True)
class Reply:
    """What a reply asks for: ``ack`` (with the alert id), ``optout`` or ``help``."""

    action: str
    alert_id: int | None = None


def parse_reply(text: str) -> Reply:
    """Understand a reply typed on a basic phone (any case, with or without diacritics)."""
    words = " ".join(to_gsm7(text).upper().split())
    if words in _STOP:
        return Reply("optout")
    match = _OK.match(words)
    if match:
        alert_id = parse_alert_code(match["code"])
        if alert_id is not None:
            return Reply("ack", alert_id)
    return Reply("help")


def handle_reply(conn: psycopg.Connection[Any], *, sender: str, text: str) -> str:
    """Act on a reply, in the caller's transaction; return what was done.

    Messages from numbers that are not subscribers are stored and get no answer.
    """
    try:
        phone = normalise_phone(sender)
    except PhoneError:
        phone = sender
    row = conn.execute(
        "SELECT id, opted_out_at IS NOT NULL FROM subscribers WHERE phone = %s FOR NO KEY UPDATE",
        (phone,),
    ).fetchone()
    reply = parse_reply(text)
    if row is None:
        _store(conn, phone, text, None, "unknown_sender", None)
        return "unknown_sender"
    subscriber_id, opted_out = int(row[0]), bool(row[1])
    action, alert_id, station = reply.action, reply.alert_id, None
    if action == "optout":
        opt_out(conn, subscriber_id)
    elif action == "ack" and alert_id is not None:
        station = _station_if_allowed(conn, alert_id, subscriber_id)
        try:
            if station is None:
                msg = f"the sender does not follow the station of alert {alert_id}"
                raise AlertError(msg)
            acknowledge(conn, alert_id, actor=phone, note="SMS reply")
        except AlertError as exc:
            logger.info("reply from %s not applied: %s", mask_phone(phone), exc)
            action = "ack_refused"
    inbound = _store(conn, phone, text, subscriber_id, action, alert_id if station else None)
    if not opted_out or action == "optout":
        enqueue_notice(
            conn,
            key=f"reply:{inbound}",
            kind=action,
            subscriber_ids=[subscriber_id],
            alert_id=alert_id if station else None,
            station_id=station,
        )
    return action


def _station_if_allowed(
    conn: psycopg.Connection[Any], alert_id: int, subscriber_id: int
) -> str | None:
    row = conn.execute(
        "SELECT a.station_id FROM alerts a WHERE a.id = %s AND ("
        " EXISTS (SELECT 1 FROM subscriptions s WHERE s.subscriber_id = %s"
        "  AND s.station_id = a.station_id)"
        " OR EXISTS (SELECT 1 FROM notifications n WHERE n.subscriber_id = %s"
        "  AND n.alert_id = a.id))",
        (alert_id, subscriber_id, subscriber_id),
    ).fetchone()
    return str(row[0]) if row else None


def _store(
    conn: psycopg.Connection[Any],
    phone: str,
    text: str,
    subscriber_id: int | None,
    action: str,
    alert_id: int | None,
) -> int:
    row = conn.execute(
        "INSERT INTO inbound_messages (sender, text, subscriber_id, action, alert_id)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (phone, text, subscriber_id, action, alert_id),
    ).fetchone()
    assert row is not None
    return int(row[0])


def record_delivery(conn: psycopg.Connection[Any], *, notification_id: int, status: int) -> bool:
    """Apply a gateway delivery report, in the caller's transaction.

    1 delivered; 8 or 4 accepted by the carrier (a ``sending`` row cut short becomes
    ``sent``); 2 undelivered and 16 rejected by the carrier are final: carriers retry
    delivery themselves, and a rejected message would be rejected again.

    Returns:
        Whether the notification exists.
    """
    if status == _DELIVERED:
        state = "'delivered'"
    elif status in (_ACCEPTED, _QUEUED):
        state = "CASE WHEN state IN ('sending', 'pending') THEN 'sent' ELSE state END"
    elif status == _UNDELIVERED:
        state = "'undelivered'"
    elif status == _REJECTED:
        state = "'failed'"
    else:
        state = "state"
    # Reports may arrive out of order (8 after 1): a delivered message stays delivered.
    cursor = conn.execute(
        "UPDATE notifications SET"
        f" state = CASE WHEN state = 'delivered' THEN state ELSE {state} END,"
        " dlr_status = CASE WHEN state = 'delivered' THEN dlr_status ELSE %s END,"
        " delivered_at = CASE WHEN %s = 1 THEN coalesce(delivered_at, now()) ELSE delivered_at END,"
        " sent_at = coalesce(sent_at, now()) WHERE id = %s",
        (status, status, notification_id),
    )
    return cursor.rowcount > 0
