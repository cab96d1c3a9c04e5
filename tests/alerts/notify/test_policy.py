"""Quiet hours (across midnight too) and rate-limit decisions, hand-computed."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from alerts.notify.policy import Action, Facts, Limits, Reason, decide, quiet_until
from alerts.notify.states import CAP_COUNTED_KINDS, CAPPED_KINDS, Kind

NIGHT = (time(21, 0), time(5, 0))  # crosses midnight
NOON = (time(11, 30), time(13, 30))
LIMITS = Limits(hourly_cap=4, daily_budget=100)


def local(hour: int, minute: int = 0, day: int = 22) -> datetime:
    """A Kiên Giang wall-clock time (UTC+7) on November ``day``, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


@pytest.mark.parametrize(
    ("now", "quiet", "until"),
    [
        (local(20, 59), NIGHT, None),
        (local(21, 0), NIGHT, local(5, 0, day=23)),
        (local(23, 30), NIGHT, local(5, 0, day=23)),
        (local(0, 10), NIGHT, local(5, 0)),
        (local(4, 59), NIGHT, local(5, 0)),
        (local(5, 0), NIGHT, None),
        (local(12, 0), NOON, local(13, 30)),
        (local(13, 30), NOON, None),
        (local(12, 0), None, None),
        (local(12, 0), (time(8, 0), time(8, 0)), None),
        # An end with seconds: the end itself, not the same time tomorrow.
        (
            local(6, 0) + timedelta(seconds=10),
            (time(21), time(6, 0, 30)),
            local(6, 0) + timedelta(seconds=30),
        ),
    ],
)
def test_quiet_hours(now: datetime, quiet: tuple[time, time] | None, until: datetime) -> None:
    assert quiet_until(now, quiet) == until


def facts(**given: object) -> Facts:
    base: dict[str, object] = {"kind": Kind.ALERT, "severity": 2, "now": local(14)}
    return Facts(**{**base, **given})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "action", "reason"),
    [
        ({}, Action.SEND, None),
        ({"subscribed": False}, Action.CANCEL, Reason.OPTED_OUT),
        ({"alert_resolved": True}, Action.CANCEL, Reason.ALERT_RESOLVED),
        (
            {"kind": Kind.ESCALATION, "severity": 3, "alert_acknowledged": True},
            Action.CANCEL,
            Reason.ALERT_ACKNOWLEDGED,
        ),
        ({"severity": 3, "alert_acknowledged": True}, Action.SEND, None),  # still news to them
        ({"kind": Kind.RESOLVED, "alert_was_sent": False}, Action.CANCEL, Reason.ALERT_NEVER_SENT),
        ({"cooled_severity": 2}, Action.SUPPRESS, Reason.COOLDOWN),
        ({"cooled_severity": 3}, Action.SUPPRESS, Reason.COOLDOWN),
        ({"cooled_severity": 1}, Action.SEND, None),  # it got worse: sent
        ({"severity": 3, "cooled_severity": 3}, Action.SUPPRESS, Reason.COOLDOWN),
        ({"now": local(23), "quiet": NIGHT}, Action.POSTPONE, Reason.QUIET_HOURS),
        ({"now": local(23), "quiet": NIGHT, "severity": 3}, Action.SEND, None),  # critical bypass
        ({"sent_last_hour": 3}, Action.SEND, None),
        ({"sent_last_hour": 4}, Action.HOLD, Reason.HOURLY_CAP),
        ({"sent_last_hour": 4, "severity": 3}, Action.SEND, None),
        ({"kind": Kind.RESOLVED, "sent_last_hour": 4}, Action.HOLD, Reason.HOURLY_CAP),
        # The cap counts digests but never holds one: held messages go out in it.
        ({"kind": Kind.DIGEST, "sent_last_hour": 9}, Action.SEND, None),
        ({"sent_today": 100}, Action.SUPPRESS, Reason.DAILY_BUDGET),
        ({"sent_today": 100, "severity": 3}, Action.SEND, None),
        ({"kind": Kind.ESCALATION, "severity": 3, "sent_today": 500}, Action.SEND, None),
        (
            {"kind": Kind.OPTOUT, "subscribed": False, "quiet": NIGHT, "now": local(23)},
            Action.SEND,
            None,
        ),
        ({"kind": Kind.BUDGET, "sent_today": 100}, Action.SEND, None),
    ],
)
def test_decisions(given: dict[str, object], action: Action, reason: Reason | None) -> None:
    decision = decide(facts(**given), LIMITS)
    assert (decision.action, decision.reason) == (action, reason)


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        (Reason.OPTED_OUT, "opted out or removed"),
        (Reason.ALERT_RESOLVED, "alert resolved before sending"),
        (Reason.ALERT_ACKNOWLEDGED, "alert acknowledged before sending"),
        (Reason.ALERT_NEVER_SENT, "the alert was never sent"),
        (Reason.COOLDOWN, "cooldown: same station and rule sent recently"),
        (Reason.QUIET_HOURS, "quiet hours"),
        (Reason.DAILY_BUDGET, "daily budget spent"),
        (Reason.HOURLY_CAP, "hourly cap: folded into a digest"),
    ],
)
def test_reasons_are_stored_in_words(reason: Reason, text: str) -> None:
    assert reason.text == text


def test_the_cap_counts_what_it_holds_and_digests() -> None:
    assert {Kind.ALERT, Kind.RESOLVED} == CAPPED_KINDS
    assert {Kind.ALERT, Kind.RESOLVED, Kind.DIGEST} == CAP_COUNTED_KINDS
