"""``aquawatch notify``: claim due notifications, send them, record what happened.

Any number of notifiers may run against one database: claims skip rows another holds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

import psycopg

from alerts.notify.channels import Outcome, Result, Sms, SmsChannel
from alerts.notify.claims import claim, recover
from alerts.notify.outbox import escalate
from alerts.notify.phones import mask_phone
from alerts.notify.settings import NotifySettings
from alerts.notify.states import State
from telemetry import Clock

__all__ = ["Notifier", "record_send"]

logger = logging.getLogger(__name__)


def record_send(
    conn: psycopg.Connection[Any], sms: Sms, result: Result, *, settings: NotifySettings
) -> None:
    """Record one send's outcome (a delivery report may have come first: it is kept)."""
    params = {
        "id": sms.notification_id,
        "detail": result.detail,
        "sending": State.SENDING,
        "sent": State.SENT,
        "pending": State.PENDING,
        "failed": State.FAILED,
    }
    if result.outcome is Outcome.ACCEPTED:
        conn.execute(
            "UPDATE notifications SET state = %(sent)s, sent_at = coalesce(sent_at, now()),"
            " reason = %(detail)s WHERE id = %(id)s AND state = %(sending)s",
            params,
        )
    elif result.outcome is Outcome.RETRY:
        conn.execute(
            "UPDATE notifications SET"
            " state = CASE WHEN attempts >= %(max_attempts)s THEN %(failed)s ELSE %(pending)s END,"
            " not_before = now()"
            "  + make_interval(secs => least(%(max_s)s, %(base_s)s * 2 ^ (attempts - 1))),"
            " reason = %(detail)s WHERE id = %(id)s AND state = %(sending)s",
            {
                **params,
                "max_attempts": settings.max_attempts,
                "max_s": settings.retry_max_s,
                "base_s": settings.retry_base_s,
            },
        )
    elif result.outcome is Outcome.GIVE_UP:
        conn.execute(
            "UPDATE notifications SET state = %(failed)s, reason = %(detail)s"
            " WHERE id = %(id)s AND state = %(sending)s",
            params,
        )
    else:  # in doubt: a delivery report or `recover` settles it
        conn.execute("UPDATE notifications SET reason = %(detail)s WHERE id = %(id)s", params)
    conn.commit()
    if result.outcome is not Outcome.ACCEPTED:
        logger.warning(
            "SMS #%d to %s: %s (%s)",
            sms.notification_id,
            mask_phone(sms.phone),
            result.outcome.value,
            result.detail,
        )


class Notifier:
    """One notifier worker.

    Args:
        settings: Its settings.
        channel: Where messages go.
        clock: What time it is, for quiet hours and the budget's local day.
    """

    def __init__(self, settings: NotifySettings, *, channel: SmsChannel, clock: Clock) -> None:
        self.settings = settings
        self.channel = channel
        self.clock = clock
        self.worker = settings.worker_id or f"{socket.gethostname()}-{os.getpid()}"

    def step(self, conn: psycopg.Connection[Any]) -> int:
        """Recover cut-short sends, escalate, then claim and send one batch.

        Returns:
            How many messages were handed to the channel.
        """
        recovered = recover(conn, in_doubt_s=self.settings.in_doubt_s)
        if recovered:
            logger.warning("%d interrupted sends had no report: sending them again", recovered)
        escalated = escalate(conn, after_s=self.settings.escalate_after_s)
        conn.commit()
        if escalated:
            logger.info("%d escalations to officers on duty", escalated)
        batch = claim(conn, worker=self.worker, settings=self.settings, now=self.clock.now())
        return self.send(conn, batch)

    def send(self, conn: psycopg.Connection[Any], batch: list[Sms]) -> int:
        """Send a claimed batch, each row only while this worker still holds its claim."""
        sent = 0
        for sms in batch:
            if not self._still_mine(conn, sms):
                continue
            record_send(conn, sms, self.channel.send(sms), settings=self.settings)
            sent += 1
        return sent

    def _still_mine(self, conn: psycopg.Connection[Any], sms: Sms) -> bool:
        """Stamp the claim afresh just before sending; False if it was taken back meanwhile.

        A slow batch can outlast ``in_doubt_s`` for its last rows: another worker's
        ``recover`` would then free them to be sent again. Each row's claim is renewed
        (and committed) right before its own send, so only one worker ever sends it.
        """
        renewed = conn.execute(
            "UPDATE notifications SET claimed_at = now()"
            " WHERE id = %s AND state = %s AND claimed_by = %s",
            (sms.notification_id, State.SENDING, self.worker),
        ).rowcount
        conn.commit()
        if not renewed:
            logger.warning("SMS #%d was taken back before it was sent", sms.notification_id)
        return renewed == 1

    def run(self, url: str, stop: threading.Event) -> None:
        """Work until ``stop`` is set; a lost database connection is made again."""
        conn: psycopg.Connection[Any] | None = None
        try:
            while not stop.is_set():
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(url)
                    sent = self.step(conn)
                except psycopg.OperationalError:
                    logger.exception("database unavailable; retrying")
                    if conn is not None:
                        conn.close()
                    conn = None
                    stop.wait(self.settings.poll_s)
                    continue
                if sent < self.settings.batch_size:
                    stop.wait(self.settings.poll_s)
        finally:
            if conn is not None:
                conn.close()
            self.channel.close()
