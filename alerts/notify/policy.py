"""When a message goes out: quiet hours, per-rule cooldown, hourly cap, daily budget.

Pure decisions on facts the worker reads under the subscriber's row lock, so two workers
never both let through what only one may send.

Critical bypass: an alert or escalation at the critical tier ignores quiet hours, the hourly
cap and the daily budget. The cooldown still holds back a repeat of the same station and
rule at the same or a lower tier, never a rise to a higher one. Replies to a person (opt-out,
acknowledgement, help) and budget notices are always sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from alerts.notify.states import CAPPED_KINDS, NOTICE_KINDS, Kind

__all__ = [
    "Action",
    "Decision",
    "Facts",
    "Limits",
    "Reason",
    "decide",
    "local_midnight",
    "quiet_until",
]

_LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
_NEWS: Final = frozenset({Kind.ALERT, Kind.ESCALATION})
"""Kinds that tell of an alert that is (still) open."""


class Action(StrEnum):
    """What to do with a due notification."""

    SEND = "send"
    POSTPONE = "postpone"
    HOLD = "hold"
    SUPPRESS = "suppress"
    CANCEL = "cancel"


class Reason(StrEnum):
    """Why a notification is not sent now (its ``text`` is what logs and the outbox say)."""

    OPTED_OUT = "opted_out"
    ALERT_RESOLVED = "alert_resolved"
    ALERT_ACKNOWLEDGED = "alert_acknowledged"
    ALERT_NEVER_SENT = "alert_never_sent"
    COOLDOWN = "cooldown"
    QUIET_HOURS = "quiet_hours"
    DAILY_BUDGET = "daily_budget"
    HOURLY_CAP = "hourly_cap"

    @property
    def text(self) -> str:
        """The reason in words, as ``notifications.reason`` stores it."""
        return _REASON_TEXT[self]


_REASON_TEXT: Final[Mapping[Reason, str]] = {
    Reason.OPTED_OUT: "opted out or removed",
    Reason.ALERT_RESOLVED: "alert resolved before sending",
    Reason.ALERT_ACKNOWLEDGED: "alert acknowledged before sending",
    Reason.ALERT_NEVER_SENT: "the alert was never sent",
    Reason.COOLDOWN: "cooldown: same station and rule sent recently",
    Reason.QUIET_HOURS: "quiet hours",
    Reason.DAILY_BUDGET: "daily budget spent",
    Reason.HOURLY_CAP: "hourly cap: folded into a digest",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """An action, with its reason (none for SEND) and, for POSTPONE, until when."""

    action: Action
    reason: Reason | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """Rate limits (settings)."""

    hourly_cap: int
    daily_budget: int


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known about one due notification when it is claimed.

    Attributes:
        kind: What the notification says.
        severity: The alert's tier (1-3).
        now: Current time (aware).
        subscribed: The subscriber exists and has not opted out.
        alert_resolved: The alert it is about is already resolved.
        alert_acknowledged: The alert it is about has been acknowledged (and is open).
        alert_was_sent: For ``resolved``: the subscriber was sent this alert.
        quiet: The subscriber's quiet hours (local start, end), or None.
        cooled_severity: Highest tier of this station and rule sent to this subscriber
            within the cooldown, or None.
        sent_last_hour: Messages of the kinds the cap counts (``CAP_COUNTED_KINDS``) sent
            to this subscriber in the last hour.
        sent_today: Messages sent by the service since local midnight.
    """

    kind: Kind
    severity: int
    now: datetime
    subscribed: bool = True
    alert_resolved: bool = False
    alert_acknowledged: bool = False
    alert_was_sent: bool = True
    quiet: tuple[time, time] | None = None
    cooled_severity: int | None = None
    sent_last_hour: int = 0
    sent_today: int = 0


def local_midnight(now: datetime) -> datetime:
    """The start of the local day (Asia/Ho_Chi_Minh) that ``now`` falls in."""
    return now.astimezone(_LOCAL).replace(hour=0, minute=0, second=0, microsecond=0)


def quiet_until(now: datetime, quiet: tuple[time, time] | None) -> datetime | None:
    """Return when the quiet hours around ``now`` end, or None outside them.

    Quiet hours are local times ``[start, end)``; ``start > end`` crosses midnight.
    """
    if quiet is None or quiet[0] == quiet[1]:
        return None
    start, end = quiet
    local = now.astimezone(_LOCAL)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    until = local.replace(
        hour=end.hour, minute=end.minute, second=end.second, microsecond=end.microsecond
    )
    if until <= local:
        until += timedelta(days=1)
    return until


def decide(facts: Facts, limits: Limits) -> Decision:
    """Decide what happens to one due notification."""
    if facts.kind in NOTICE_KINDS:
        return Decision(Action.SEND)
    if not facts.subscribed:
        return Decision(Action.CANCEL, Reason.OPTED_OUT)
    if facts.kind in _NEWS and facts.alert_resolved:
        return Decision(Action.CANCEL, Reason.ALERT_RESOLVED)
    if facts.kind == Kind.ESCALATION and facts.alert_acknowledged:
        # It would say nobody has seen the alert: someone has, by reply or on the dashboard.
        return Decision(Action.CANCEL, Reason.ALERT_ACKNOWLEDGED)
    if facts.kind == Kind.RESOLVED and not facts.alert_was_sent:
        return Decision(Action.CANCEL, Reason.ALERT_NEVER_SENT)
    critical = facts.kind in _NEWS and facts.severity >= 3
    cooled = facts.cooled_severity
    if facts.kind == Kind.ALERT and cooled is not None and cooled >= facts.severity:
        return Decision(Action.SUPPRESS, Reason.COOLDOWN)
    if critical:
        return Decision(Action.SEND)
    until = quiet_until(facts.now, facts.quiet)
    if until is not None:
        return Decision(Action.POSTPONE, Reason.QUIET_HOURS, until)
    if facts.sent_today >= limits.daily_budget:
        return Decision(Action.SUPPRESS, Reason.DAILY_BUDGET)
    if facts.kind in CAPPED_KINDS and facts.sent_last_hour >= limits.hourly_cap:
        return Decision(Action.HOLD, Reason.HOURLY_CAP)
    return Decision(Action.SEND)
