"""``/sms``: Kannel's delivery reports and the replies phones send (MO messages).

The API mounts these routes (under ``/api/v1``); they belong to the notifier, which asks
Kannel for the reports (``KannelChannel``) and owns the replies' meaning. Kannel cannot send
authentication headers, so both callbacks carry the shared secret
``AQUAWATCH_SMS_CALLBACK_TOKEN`` as ``?token=``; without one configured they answer 403.
Replies are answered with an empty body (Kannel's ``sms-service`` has ``max-messages = 0``):
confirmations go through the outbox.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at
# runtime, and they name the dependency built inside ``sms_callbacks``.

import hmac
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import SecretStr

from alerts.notify.phones import mask_phone
from alerts.notify.replies import handle_reply, record_delivery

__all__ = ["Connect", "sms_callbacks"]

logger = logging.getLogger(__name__)

Connect = Callable[[Request], AbstractContextManager[psycopg.Connection[Any]]]
"""A request's database connection, committed when the block ends unless it failed."""


def sms_callbacks(*, connect: Connect, token: SecretStr) -> APIRouter:
    """Build the ``/sms/dlr`` and ``/sms/mo`` routes Kannel calls.

    Args:
        connect: The connection for a request; each route commits before Kannel hears back.
        token: The shared secret the gateway passes as ``?token=``; empty refuses every call.
    """
    router = APIRouter(prefix="/sms", tags=["sms"])
    expected = token.get_secret_value().encode()

    def gateway(token: str = "") -> None:
        if not expected or not hmac.compare_digest(token.encode(), expected):
            raise HTTPException(403, "the SMS gateway's token is missing or wrong")

    from_gateway = Annotated[None, Depends(gateway)]

    @router.get("/dlr", response_class=PlainTextResponse)
    def delivery_report(
        request: Request,
        _: from_gateway,
        notification: Annotated[int, Query(alias="id", ge=1, le=2**63 - 1)],
        status: Annotated[int, Query(ge=0, le=255)],
    ) -> str:
        """Kannel delivery report for one notification."""
        with connect(request) as conn:  # committed before Kannel hears back
            found = record_delivery(conn, notification_id=notification, status=status)
        if not found:
            raise HTTPException(404, f"no notification {notification}")
        return "ok"

    @router.get("/mo", response_class=PlainTextResponse)
    def reply(
        request: Request,
        _: from_gateway,
        sender: Annotated[str, Query(alias="from", min_length=1, max_length=32)],
        text: Annotated[str, Query(max_length=1600)] = "",
        gateway_id: Annotated[str | None, Query(alias="id", min_length=1, max_length=64)] = None,
    ) -> str:
        """A message a phone sent to the service's number; ``id`` (Kannel's ``%I``) makes a
        second delivery of it a no-op answered the same way."""
        with connect(request) as conn:  # committed before Kannel hears back
            action = handle_reply(conn, sender=sender, text=text, gateway_id=gateway_id)
        logger.info("SMS reply from %s: %s", mask_phone(sender), action)
        return ""

    return router
