"""What-if: a rule's alerts over the last 30 or 90 days under a candidate limit change.

The backtest (``alerts.what_if``) runs the alert engine over the station's stored readings
in data time, once with the limits in force and once with the candidate layered on them,
reading only; nothing is applied until an officer saves the override.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
from pydantic import BaseModel, model_validator

from alerts import BacktestAlert, load_profiles, load_quality_config, what_if
from stations import load_registry
from viz.api.problems import NotFoundError
from viz.api.queries.thresholds import Limit, rules

DAY_S = 86_400.0


class Candidate(BaseModel):
    """Limits to try for a rule (at least one; the others stay as in force) and how far back."""

    advisory: Limit | None = None
    warning: Limit | None = None
    critical: Limit | None = None
    days: Literal[30, 90] = 30

    @model_validator(mode="after")
    def _some_limit(self) -> Candidate:
        if self.advisory is None and self.warning is None and self.critical is None:
            msg = "give at least one of advisory, warning, critical"
            raise ValueError(msg)
        return self


class AlertSpan(BaseModel):
    """One alert the rule would have raised."""

    severity: int
    opened_at: datetime
    resolved_at: datetime | None
    hours: float


class Outcome(BaseModel):
    """A rule's alerts over the period under one set of limits."""

    alerts: int
    alert_hours: float
    spans: list[AlertSpan]


class WhatIfResult(BaseModel):
    """The rule's alerts under the limits in force and under the candidate."""

    station_id: str
    rule_id: str
    start: datetime
    end: datetime
    current: Outcome
    candidate: Outcome


def _outcome(alerts: tuple[BacktestAlert, ...], *, end: float) -> Outcome:
    spans = [
        AlertSpan(
            severity=a.severity,
            opened_at=datetime.fromtimestamp(a.opened_at, UTC),
            resolved_at=None
            if a.resolved_at is None
            else datetime.fromtimestamp(a.resolved_at, UTC),
            hours=round(a.hours(end=end), 2),
        )
        for a in alerts
    ]
    return Outcome(
        alerts=len(spans), alert_hours=round(sum(s.hours for s in spans), 2), spans=spans
    )


def try_limits(
    conn: psycopg.Connection[Any],
    station_id: str,
    rule_id: str,
    candidate: Candidate,
    *,
    now: float,
    stations_file: Path | None,
) -> WhatIfResult:
    """Backtest ``candidate`` for a rule in force at a station, reading only.

    Raises:
        NotFoundError: The station has no such rule, or is not in the registry.
    """
    station = load_registry(stations_file).stations.get(station_id)
    if station is None or not rules(conn, station_id=station_id, rule_id=rule_id):
        msg = f"no rule {rule_id} at station {station_id}"
        raise NotFoundError(msg)
    start = now - candidate.days * DAY_S
    found = what_if(
        conn,
        station,
        rule_id=rule_id,
        tiers=(candidate.advisory, candidate.warning, candidate.critical),
        start=start,
        end=now,
        quality=load_quality_config(),
        profiles=load_profiles(),
    )
    return WhatIfResult(
        station_id=station_id,
        rule_id=rule_id,
        start=datetime.fromtimestamp(start, UTC),
        end=datetime.fromtimestamp(now, UTC),
        current=_outcome(found.current, end=now),
        candidate=_outcome(found.candidate, end=now),
    )
