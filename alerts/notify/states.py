"""The notifier's vocabulary: kinds and states of notifications, reply actions, Kannel reports.

Values are as stored in SQL (``notifications.kind``, ``notifications.state``,
``inbound_messages.action``; the ``CHECK`` constraints of migration 0006 list the same), so a
member goes to the database as a parameter and a column read back compares equal to it.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final

__all__ = [
    "ALERT_KINDS",
    "CAPPED_KINDS",
    "CAP_COUNTED_KINDS",
    "NOTICE_KINDS",
    "SENT_STATES",
    "TOLD_STATES",
    "WAITING_STATES",
    "Dlr",
    "Kind",
    "ReplyAction",
    "State",
]


class Kind(StrEnum):
    """What a notification says."""

    ALERT = "alert"  # an alert opened, or rose a tier
    ESCALATION = "escalation"  # a critical alert nobody acknowledged, to the officers on duty
    RESOLVED = "resolved"  # an alert the subscriber was told of is over
    DIGEST = "digest"  # the alerts the hourly cap held back, in one message
    BUDGET = "budget"  # the daily budget is spent (to the officers on duty)
    OPTOUT = "optout"  # confirms an opt-out
    ACK = "ack"  # confirms an acknowledgement by reply
    ACK_REFUSED = "ack_refused"  # an acknowledgement by reply that was not applied
    HELP = "help"  # answers a reply that was not understood


class State(StrEnum):
    """Where a notification stands.

    ``pending`` → ``sending`` → ``sent`` → ``delivered``; or ``held`` (for a digest) →
    ``digested``; or ``failed``, ``undelivered``, ``suppressed`` (a rate limit), ``cancelled``
    (moot before it was sent).
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    HELD = "held"
    DIGESTED = "digested"
    SUPPRESSED = "suppressed"
    CANCELLED = "cancelled"


class ReplyAction(StrEnum):
    """What was done with a message a phone sent us."""

    ACK = "ack"
    ACK_REFUSED = "ack_refused"
    OPTOUT = "optout"
    HELP = "help"
    UNKNOWN_SENDER = "unknown_sender"


class Dlr(IntEnum):
    """Kannel's delivery-report types (``dlr-mask`` bits, ``%d`` in the ``dlr-url``)."""

    DELIVERED = 1
    UNDELIVERED = 2
    QUEUED = 4  # queued at the SMSC
    ACCEPTED = 8  # accepted by the SMSC
    REJECTED = 16  # rejected by the SMSC


ALERT_KINDS: Final = frozenset({Kind.ALERT, Kind.ESCALATION, Kind.RESOLVED})
"""Kinds about one alert (rendered from its facts)."""
NOTICE_KINDS: Final = frozenset({Kind.BUDGET, Kind.OPTOUT, Kind.ACK, Kind.ACK_REFUSED, Kind.HELP})
"""Service messages: answers to a person and budget notices, always sent."""
CAPPED_KINDS: Final = frozenset({Kind.ALERT, Kind.RESOLVED})
"""Kinds the hourly cap holds back into a digest (critical alerts apart).

Never the digest itself (it is where held messages go) nor escalations (always critical).
"""
CAP_COUNTED_KINDS: Final = CAPPED_KINDS | {Kind.DIGEST}
"""Kinds a recipient's hourly cap counts: the routine messages about alerts, digests too."""
SENT_STATES: Final = frozenset({State.SENDING, State.SENT, State.DELIVERED})
"""Handed to the gateway, or being handed: what the cap and the daily budget count."""
TOLD_STATES: Final = SENT_STATES | {State.DIGESTED}
"""The recipient was told (on its own or in a digest): what cooldowns and ``resolved`` ask."""
WAITING_STATES: Final = frozenset({State.PENDING, State.HELD})
"""Not sent yet, and not decided: what an opt-out or a new number still changes."""
