"""What phones and the gateway tell us: replies (MO messages) and delivery reports.

Replies: ``OK <code>`` acknowledges the alert with that code, if the sender follows its
station or was sent it; ``TU CHOI`` (or ``TỪ CHỐI``, ``STOP``) opts out. Confirmations go
through the outbox like every other message, so they are recorded, retried and sent once;
the HTTP answer to the gateway stays empty.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg.rows import class_row, scalar_row
from pydantic import BaseModel, ConfigDict

from alerts.errors import AlertError
from alerts.notify.errors import PhoneError
from alerts.notify.outbox import enqueue_notice
from alerts.notify.phones import mask_phone, normalise_phone
from alerts.notify.states import Dlr, Kind, ReplyAction, State
from alerts.notify.subscribers import opt_out
from alerts.notify.templates import parse_alert_code
from alerts.notify.text import to_gsm7
from alerts.persistence.lifecycle import acknowledge

__all__ = ["Reply", "handle_reply", "parse_reply", "record_delivery"]

logger = logging.getLogger(__name__)

_OK: Final = re.compile(r"^OK\s*[:#-]?\s*(?P<code>[0-9A-Z]{1,12})$")
_STOP: Final = frozenset({"TU CHOI", "TUCHOI", "STOP", "HUY", "DUNG"})
_CONFIRMATION: Final[Mapping[ReplyAction, Kind]] = {
    ReplyAction.ACK: Kind.ACK,
    ReplyAction.ACK_REFUSED: Kind.ACK_REFUSED,
    ReplyAction.OPTOUT: Kind.OPTOUT,
    ReplyAction.HELP: Kind.HELP,
}
"""The message that answers each reply from a subscriber."""
_ANY_BUT_DELIVERED: Final[list[State]] = [s for s in State if s is not State.DELIVERED]
_SETTLES: Final[Mapping[int, tuple[list[State], State]]] = {
    Dlr.DELIVERED: (_ANY_BUT_DELIVERED, State.DELIVERED),
    # Taken by the carrier: a send cut short (still ``sending``, or recovered) is ``sent``.
    Dlr.ACCEPTED: ([State.SENDING, State.PENDING], State.SENT),
    Dlr.QUEUED: ([State.SENDING, State.PENDING], State.SENT),
    Dlr.UNDELIVERED: (_ANY_BUT_DELIVERED, State.UNDELIVERED),
    Dlr.REJECTED: (_ANY_BUT_DELIVERED, State.FAILED),
}
"""Per report type: the states it changes (never ``delivered``: reports may arrive out of
order, 8 after 1), and the state they become."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What a reply asks for: ``ack`` (with the alert id), ``optout`` or ``help``."""

    action: ReplyAction
    alert_id: int | None = None


class _Sender(BaseModel):
    """The subscriber a reply comes from."""

    model_config = ConfigDict(frozen=True)

    id: int
    opted_out: bool


def parse_reply(text: str) -> Reply:
    """Understand a reply typed on a basic phone (any case, with or without diacritics)."""
    words = " ".join(to_gsm7(text).upper().split())
    if words in _STOP:
        return Reply(ReplyAction.OPTOUT)
    match = _OK.match(words)
    if match:
        alert_id = parse_alert_code(match["code"])
        if alert_id is not None:
            return Reply(ReplyAction.ACK, alert_id)
    return Reply(ReplyAction.HELP)


def handle_reply(
    conn: psycopg.Connection[Any], *, sender: str, text: str, gateway_id: str | None = None
) -> ReplyAction:
    """Act on a reply, in the caller's transaction; return what was done.

    Messages from numbers that are not subscribers are stored and get no answer. A reply
    with a ``gateway_id`` (Kannel's ``%I``) already stored is not acted on again: a gateway
    that delivers it twice gets the first answer, and nobody a second confirmation.
    """
    try:
        phone = normalise_phone(sender)
    except PhoneError:
        phone = sender
    # Stored first: a concurrent delivery of the same id waits here on the unique key.
    inbound = _store(conn, phone, text, gateway_id)
    if inbound is None:
        return _stored_action(conn, gateway_id)
    with conn.cursor(row_factory=class_row(_Sender)) as cursor:
        found = cursor.execute(
            "SELECT id, opted_out_at IS NOT NULL AS opted_out FROM subscribers WHERE phone = %s"
            " FOR NO KEY UPDATE",
            (phone,),
        ).fetchone()
    reply = parse_reply(text)
    if found is None:
        return ReplyAction.UNKNOWN_SENDER  # as stored
    action, alert_id, station = reply.action, reply.alert_id, None
    if action is ReplyAction.OPTOUT:
        opt_out(conn, found.id)
    elif action is ReplyAction.ACK and alert_id is not None:
        station = _station_if_allowed(conn, alert_id, found.id)
        if station is None:
            logger.info(
                "reply from %s not applied: the sender does not follow the station of alert %d",
                mask_phone(phone),
                alert_id,
            )
            action = ReplyAction.ACK_REFUSED
        else:
            try:
                acknowledge(conn, alert_id, actor=phone, note="SMS reply")
            except AlertError as exc:
                logger.info("reply from %s not applied: %s", mask_phone(phone), exc)
                action = ReplyAction.ACK_REFUSED
    conn.execute(
        "UPDATE inbound_messages SET subscriber_id = %s, action = %s, alert_id = %s WHERE id = %s",
        (found.id, action, alert_id if station else None, inbound),
    )
    if not found.opted_out or action is ReplyAction.OPTOUT:
        enqueue_notice(
            conn,
            key=f"reply:{inbound}",
            kind=_CONFIRMATION[action],
            subscriber_ids=[found.id],
            alert_id=alert_id if station else None,
            station_id=station,
        )
    return action


def _station_if_allowed(
    conn: psycopg.Connection[Any], alert_id: int, subscriber_id: int
) -> str | None:
    with conn.cursor(row_factory=scalar_row) as cursor:
        station: str | None = cursor.execute(
            "SELECT a.station_id FROM alerts a WHERE a.id = %s AND ("
            " EXISTS (SELECT 1 FROM subscriptions s WHERE s.subscriber_id = %s"
            "  AND s.station_id = a.station_id)"
            " OR EXISTS (SELECT 1 FROM notifications n WHERE n.subscriber_id = %s"
            "  AND n.alert_id = a.id))",
            (alert_id, subscriber_id, subscriber_id),
        ).fetchone()
    return station


def _store(
    conn: psycopg.Connection[Any], phone: str, text: str, gateway_id: str | None
) -> int | None:
    """Store a reply as from an unknown sender; None if its gateway id is stored already."""
    with conn.cursor(row_factory=scalar_row) as cursor:
        inbound: int | None = cursor.execute(
            "INSERT INTO inbound_messages (sender, text, action, gateway_id)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (gateway_id) DO NOTHING RETURNING id",
            (phone, text, ReplyAction.UNKNOWN_SENDER, gateway_id),
        ).fetchone()
    return inbound


def _stored_action(conn: psycopg.Connection[Any], gateway_id: str | None) -> ReplyAction:
    with conn.cursor(row_factory=scalar_row) as cursor:
        action: str | None = cursor.execute(
            "SELECT action FROM inbound_messages WHERE gateway_id = %s", (gateway_id,)
        ).fetchone()
    assert action is not None
    return ReplyAction(action)


def record_delivery(conn: psycopg.Connection[Any], *, notification_id: int, status: int) -> bool:
    """Apply a gateway delivery report, in the caller's transaction.

    1 delivered; 8 or 4 accepted by the carrier (a ``sending`` row cut short becomes
    ``sent``); 2 undelivered and 16 rejected by the carrier are final: carriers retry
    delivery themselves, and a rejected message would be rejected again.

    Returns:
        Whether the notification exists.
    """
    changes, new = _SETTLES.get(status, ([], State.SENDING))  # other types change nothing
    cursor = conn.execute(
        "UPDATE notifications SET"
        " state = CASE WHEN state = ANY(%s) THEN %s ELSE state END,"
        " dlr_status = CASE WHEN state = %s THEN dlr_status ELSE %s END,"
        " delivered_at = CASE WHEN %s THEN coalesce(delivered_at, now()) ELSE delivered_at END,"
        " sent_at = coalesce(sent_at, now()) WHERE id = %s",
        (changes, new, State.DELIVERED, status, status == Dlr.DELIVERED, notification_id),
    )
    return cursor.rowcount > 0
