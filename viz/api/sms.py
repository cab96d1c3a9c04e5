"""``/api/v1/sms``: Kannel's delivery reports and the replies phones send (MO messages).

Kannel cannot send authentication headers, so both callbacks carry the shared secret
``AQUAWATCH_SMS_CALLBACK_TOKEN`` as ``?token=``; without one configured they answer 403.
Replies are answered with an empty body (Kannel's ``sms-service`` has ``max-messages = 0``):
confirmations go through the outbox.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from alerts import handle_reply, record_delivery
from viz.api.deps import Services, pooled, services
from viz.api.problems import NotFoundError, PermissionDeniedError

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/sms", tags=["sms"])


def _gateway(svc: Annotated[Services, Depends(services)], token: str = "") -> Services:
    expected = svc.settings.sms_callback_token.get_secret_value()
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        msg = "the SMS gateway's token is missing or wrong"
        raise PermissionDeniedError(msg)
    return svc


Gateway = Annotated[Services, Depends(_gateway)]


@router.get("/dlr", response_class=PlainTextResponse)
def delivery_report(
    request: Request,
    _: Gateway,
    notification: Annotated[int, Query(alias="id", ge=1, le=2**63 - 1)],
    status: Annotated[int, Query(ge=0, le=255)],
) -> str:
    """Kannel delivery report for one notification."""
    with pooled(request) as conn:  # committed before Kannel hears back
        found = record_delivery(conn, notification_id=notification, status=status)
    if not found:
        msg = f"no notification {notification}"
        raise NotFoundError(msg)
    return "ok"


@router.get("/mo", response_class=PlainTextResponse)
def reply(
    request: Request,
    _: Gateway,
    sender: Annotated[str, Query(alias="from", min_length=1, max_length=32)],
    text: Annotated[str, Query(max_length=1600)] = "",
) -> str:
    """A message a phone sent to the service's number."""
    with pooled(request) as conn:  # committed before Kannel hears back
        action = handle_reply(conn, sender=sender, text=text)
    logger.info("SMS reply from %s: %s", sender, action)
    return ""
