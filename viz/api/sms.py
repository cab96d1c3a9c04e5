"""``/api/v1/sms``: Kannel's delivery reports and the replies phones send (MO messages).

Kannel cannot send authentication headers, so both callbacks carry the shared secret
``AQUAWATCH_SMS_CALLBACK_TOKEN`` as ``?token=``. Replies are answered with an empty body
(Kannel's ``sms-service`` has ``max-messages = 0``): confirmations go through the outbox.
The app that includes this router calls ``configure`` in its lifespan.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse

from alerts import NotifySettings, handle_reply, record_delivery

__all__ = ["SmsCallbacks", "configure", "router"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/sms", tags=["sms"])


@dataclass(frozen=True, slots=True)
class SmsCallbacks:
    """What the callbacks need: the database and the shared secret."""

    database_url: str
    token: str


def configure(app: FastAPI, settings: NotifySettings) -> None:
    """Give the SMS routes of ``app`` their database and token (call from the lifespan)."""
    app.state.sms_callbacks = SmsCallbacks(
        settings.database_url.get_secret_value(), settings.sms_callback_token.get_secret_value()
    )


def _callbacks(request: Request, token: Annotated[str, Query()] = "") -> SmsCallbacks:
    callbacks: SmsCallbacks = request.app.state.sms_callbacks
    if not callbacks.token or not hmac.compare_digest(token, callbacks.token):
        raise HTTPException(status_code=403, detail="bad token")
    return callbacks


Callbacks = Annotated[SmsCallbacks, Depends(_callbacks)]


def _connect(callbacks: SmsCallbacks) -> psycopg.Connection[Any]:
    return psycopg.connect(callbacks.database_url, connect_timeout=5)


@router.get("/dlr", response_class=PlainTextResponse)
def delivery_report(
    callbacks: Callbacks,
    notification: Annotated[int, Query(alias="id", ge=1)],
    status: Annotated[int, Query(ge=0)],
) -> str:
    """Kannel delivery report for one notification."""
    with _connect(callbacks) as conn:
        found = record_delivery(conn, notification_id=notification, status=status)
    if not found:
        raise HTTPException(status_code=404, detail="no such notification")
    return "ok"


@router.get("/mo", response_class=PlainTextResponse)
def reply(
    callbacks: Callbacks,
    sender: Annotated[str, Query(alias="from", min_length=1, max_length=32)],
    text: Annotated[str, Query(max_length=1600)] = "",
) -> str:
    """A message a phone sent to the service's number."""
    with _connect(callbacks) as conn:
        action = handle_reply(conn, sender=sender, text=text)
    logger.info("SMS reply from %s: %s", sender, action)
    return ""
