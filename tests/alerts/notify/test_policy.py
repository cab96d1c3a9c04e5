"""Quiet hours (across midnight too) and rate-limit decisions, hand-computed."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from alerts.notify.policy import Action, Facts, Limits, decide, quiet_until

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
    base: dict[str, object] = {"kind": "alert", "severity": 2, "now": local(14)}
    return Facts(**{**base, **given})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "action", "reason"),
    [
        ({}, Action.SEND, ""),
        ({"subscribed": False}, Action.CANCEL, "opted out or removed"),
        ({"alert_resolved": True}, Action.CANCEL, "alert resolved before sending"),
        ({"kind": "resolved", "alert_was_sent": False}, Action.CANCEL, "the alert was never sent"),
        ({"cooled_severity": 2}, Action.SUPPRESS, "cooldown: same station and rule sent recently"),
        ({"cooled_severity": 3}, Action.SUPPRESS, "cooldown: same station and rule sent recently"),
        ({"cooled_severity": 1}, Action.SEND, ""),  # it got worse: sent
        (
            {"severity": 3, "cooled_severity": 3},
            Action.SUPPRESS,
            "cooldown: same station and rule sent recently",
        ),
        ({"now": local(23), "quiet": NIGHT}, Action.POSTPONE, "quiet hours"),
        ({"now": local(23), "quiet": NIGHT, "severity": 3}, Action.SEND, ""),  # critical bypass
        ({"sent_last_hour": 3}, Action.SEND, ""),
        ({"sent_last_hour": 4}, Action.HOLD, "hourly cap: folded into a digest"),
        ({"sent_last_hour": 4, "severity": 3}, Action.SEND, ""),
        (
            {"kind": "resolved", "sent_last_hour": 4},
            Action.HOLD,
            "hourly cap: folded into a digest",
        ),
        ({"kind": "digest", "sent_last_hour": 9}, Action.SEND, ""),
        ({"sent_today": 100}, Action.SUPPRESS, "daily budget spent"),
        ({"sent_today": 100, "severity": 3}, Action.SEND, ""),
        ({"kind": "escalation", "severity": 3, "sent_today": 500}, Action.SEND, ""),
        (
            {"kind": "optout", "subscribed": False, "quiet": NIGHT, "now": local(23)},
            Action.SEND,
            "",
        ),
        ({"kind": "budget", "sent_today": 100}, Action.SEND, ""),
    ],
)
def test_decisions(given: dict[str, object], action: Action, reason: str) -> None:
    decision = decide(facts(**given), LIMITS)
    assert (decision.action, decision.reason) == (action, reason)
