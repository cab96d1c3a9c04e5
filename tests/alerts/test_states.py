"""The domain enums hold exactly the words the database's CHECK constraints allow."""

from __future__ import annotations

import re
from enum import Enum
from importlib import resources

import pytest

from alerts.states import (
    TIER_NAMES,
    AlertFamily,
    AlertState,
    EventKind,
    Severity,
    TransitionKind,
)

SCHEMA = resources.files("telemetry").joinpath("migrations/0003_alerts.sql").read_text("utf-8")


def allowed(column: str) -> set[str]:
    match = re.search(rf"{column}\s+text NOT NULL[^,]*?CHECK \({column} IN \(([^)]*)\)\)", SCHEMA)
    assert match is not None, column
    return set(re.findall(r"'(\w+)'", match[1]))


@pytest.mark.parametrize(
    ("column", "enum"), [("state", AlertState), ("family", AlertFamily), ("kind", EventKind)]
)
def test_string_enums_match_the_schema(column: str, enum: type[Enum]) -> None:
    assert {m.value for m in enum} == allowed(column)


def test_one_severity_scale() -> None:
    assert [int(s) for s in Severity] == [1, 2, 3]
    assert tuple(s.key for s in Severity) == TIER_NAMES
    assert "severity BETWEEN 1 AND 3" in SCHEMA


@pytest.mark.parametrize(
    ("kind", "event"),
    [
        (TransitionKind.OPEN, EventKind.OPENED),
        (TransitionKind.ESCALATE, EventKind.ESCALATED),
        (TransitionKind.RESOLVE, EventKind.RESOLVED),
    ],
)
def test_transitions_become_events(kind: TransitionKind, event: EventKind) -> None:
    assert kind.event is event
