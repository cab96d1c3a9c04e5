"""SMS channels: where messages go. ``AQUAWATCH_SMS_URL``'s scheme picks one.

``log:`` writes each message to the log (demos, development). ``kannel://`` hands them to
Kannel's smsbox sendsms interface, asking for delivery reports at the API's
``/api/v1/sms/dlr``. A provider of Vietnamese brandname SMS over HTTP is added by
configuration: a package registers a factory for its URL scheme in the entry-point group
``aquawatch.sms_channels`` and ``AQUAWATCH_SMS_URL`` names that scheme.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import entry_points
from typing import Final, Protocol
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import httpx

from alerts.notify.errors import ChannelError
from alerts.notify.phones import mask_phone
from alerts.notify.settings import NotifySettings
from alerts.notify.states import Dlr
from alerts.notify.text import Coding

__all__ = [
    "KannelChannel",
    "LogChannel",
    "Outcome",
    "Sms",
    "SmsChannel",
    "channel_from_settings",
]

logger = logging.getLogger(__name__)

DLR_MASK: Final = sum(Dlr)
"""Ask Kannel for every type of delivery report."""


class Outcome(StrEnum):
    """What became of one send."""

    ACCEPTED = "accepted"  # the gateway took it
    RETRY = "retry"  # it surely did not: try again later
    GIVE_UP = "give_up"  # it never will
    IN_DOUBT = "in_doubt"  # unknown (a timeout after the request went out)


@dataclass(frozen=True, slots=True)
class Sms:
    """One message for the channel."""

    notification_id: int
    phone: str
    text: str
    coding: Coding


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of a send and the gateway's words."""

    outcome: Outcome
    detail: str = ""


class SmsChannel(Protocol):
    """The adapter interface every SMS channel offers (``aquawatch.sms_channels`` factories too).

    Named for SMS so that it is not taken for a topic's ``telemetry.Channel``.
    """

    reports_delivery: bool

    def send(self, sms: Sms) -> Result:
        """Hand one message over; never raise for gateway trouble."""

    def close(self) -> None:
        """Release connections."""


class LogChannel:
    """Writes messages to the log instead of sending them."""

    reports_delivery = False

    def send(self, sms: Sms) -> Result:
        """Log that the message would go out (its text stays in the outbox, not the log)."""
        logger.info(
            "SMS #%d to %s (%s, %d characters)",
            sms.notification_id,
            mask_phone(sms.phone),
            sms.coding.name,
            len(sms.text),
        )
        return Result(Outcome.ACCEPTED, "logged")

    def close(self) -> None:
        """Nothing to release."""


class KannelChannel:
    """Kannel's smsbox HTTP sendsms interface, with delivery reports to the API.

    Args:
        url: ``kannel://USER:PASS@HOST:PORT?sender=NAME``.
        callback_url: Base URL of the API as Kannel reaches it.
        token: Shared secret for the callbacks.
        timeout: HTTP timeout in seconds.
    """

    reports_delivery = True

    def __init__(self, url: str, *, callback_url: str, token: str, timeout: float) -> None:
        parts = urlsplit(url)
        if not parts.hostname or not parts.username:
            problem = "it must look like kannel://USER:PASS@HOST:PORT?sender=NAME"
            raise ChannelError(parts.scheme, problem)
        if not token:
            problem = "the Kannel channel needs AQUAWATCH_SMS_CALLBACK_TOKEN for delivery reports"
            raise ChannelError(parts.scheme, problem)
        query = parse_qs(parts.query)
        self._auth = {
            "username": unquote(parts.username),
            "password": unquote(parts.password or ""),
        }
        self._sender = query.get("sender", [""])[0]
        self._dlr_base = f"{callback_url.rstrip('/')}/api/v1/sms/dlr?" + urlencode({"token": token})
        self._client = httpx.Client(
            base_url=f"http://{parts.hostname}:{parts.port or 13013}", timeout=timeout
        )

    def send(self, sms: Sms) -> Result:
        """Submit one message; map Kannel's answer to an outcome."""
        params = {
            **self._auth,
            "to": sms.phone,
            "text": sms.text,
            "coding": str(int(sms.coding)),
            "charset": "UTF-8",
            "dlr-mask": str(DLR_MASK),
            "dlr-url": f"{self._dlr_base}&id={sms.notification_id}&status=%d",
        }
        if self._sender:
            params["from"] = self._sender
        try:
            response = self._client.get("/cgi-bin/sendsms", params=params)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            return Result(Outcome.RETRY, f"gateway unreachable: {exc}")
        except httpx.HTTPError as exc:
            return Result(Outcome.IN_DOUBT, f"no answer from the gateway: {exc}")
        detail = f"{response.status_code} {response.text.strip()}"
        if response.status_code in (200, 202):
            return Result(Outcome.ACCEPTED, detail)
        if response.status_code >= 500:  # 503 "Temporal failure" and the like
            return Result(Outcome.RETRY, detail)
        return Result(Outcome.GIVE_UP, detail)  # 400 bad message, 403 wrong account...

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()


SmsChannelFactory = Callable[[str, NotifySettings], SmsChannel]


def channel_from_settings(settings: NotifySettings) -> SmsChannel:
    """Build the channel ``AQUAWATCH_SMS_URL`` names.

    Raises:
        ChannelError: Unknown scheme or an unusable URL.
    """
    url = settings.sms_url.get_secret_value()
    scheme = urlsplit(url).scheme
    if scheme == "log":
        return LogChannel()
    if scheme == "kannel":
        return KannelChannel(
            url,
            callback_url=settings.sms_callback_url,
            token=settings.sms_callback_token.get_secret_value(),
            timeout=settings.http_timeout_s,
        )
    for entry in entry_points(group="aquawatch.sms_channels"):
        if entry.name == scheme:
            factory: SmsChannelFactory = entry.load()
            return factory(url, settings)
    problem = "no SMS channel for this scheme (log:, kannel://, or an aquawatch.sms_channels one)"
    raise ChannelError(scheme, problem)
