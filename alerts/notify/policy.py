"""When a message goes out: quiet hours, per-rule cooldown, hourly cap, daily budget.

Pure decisions on facts the worker reads under the subscriber's row lock, so two workers
never both let through what only one may send.

Critical bypass: an alert or escalation at the critical tier ignores quiet hours, the hourly
cap and the daily budget. The cooldown still holds back a repeat of the same station and
rule at the same or a lower tier, never a rise to a higher one. Replies to a person (opt-out,
acknowledgement, help) and budget notices are always sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = ["Action", "Decision", "Facts", "Limits", "decide", "local_midnight", "quiet_until"]

_LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SERVICE_KINDS = frozenset({"budget", "optout", "ack", "ack_refused", "help"})
CAPPED_KINDS = frozenset({"alert", "resolved"})


class Action(StrEnum):
    """What to do with a due notification."""

    SEND = "send"
    POSTPONE = "postpone"
    HOLD = "hold"
    SUPPRESS = "suppress"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class Decision:
    """An action, with its reason and, for POSTPONE, until when."""

    action: Action
    reason: str = ""
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
        kind: alert, escalation, resolved, digest or a service kind.
        severity: The alert's tier (1-3).
        now: Current time (aware).
        subscribed: The subscriber exists and has not opted out.
        alert_resolved: The alert it is about is already resolved.
        alert_was_sent: For ``resolved``: the subscriber was sent this alert.
        quiet: The subscriber's quiet hours (local start, end), or None.
        cooled_severity: Highest tier of this station and rule sent to this subscriber
            within the cooldown, or None.
        sent_last_hour: Messages of capped kinds sent to this subscriber in the last hour.
        sent_today: Messages sent by the service since local midnight.
    """

    kind: str
    severity: int
    now: datetime
    subscribed: bool = True
    alert_resolved: bool = False
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
    if facts.kind in SERVICE_KINDS:
        return Decision(Action.SEND)
    if not facts.subscribed:
        return Decision(Action.CANCEL, "opted out or removed")
    if facts.kind in ("alert", "escalation") and facts.alert_resolved:
        return Decision(Action.CANCEL, "alert resolved before sending")
    if facts.kind == "resolved" and not facts.alert_was_sent:
        return Decision(Action.CANCEL, "the alert was never sent")
    critical = facts.kind in ("alert", "escalation") and facts.severity >= 3
    cooled = facts.cooled_severity
    if facts.kind == "alert" and cooled is not None and cooled >= facts.severity:
        return Decision(Action.SUPPRESS, "cooldown: same station and rule sent recently")
    if critical:
        return Decision(Action.SEND)
    until = quiet_until(facts.now, facts.quiet)
    if until is not None:
        return Decision(Action.POSTPONE, "quiet hours", until)
    if facts.sent_today >= limits.daily_budget:
        return Decision(Action.SUPPRESS, "daily budget spent")
    if facts.kind in CAPPED_KINDS and facts.sent_last_hour >= limits.hourly_cap:
        return Decision(Action.HOLD, "hourly cap: folded into a digest")
    return Decision(Action.SEND)
