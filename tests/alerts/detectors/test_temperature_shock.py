"""A sudden temperature change raises the shock rule; a normal diel cycle does not."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from alerts.detectors.findings import AlertEpisode
from alerts.states import Severity
from simulators import simulate
from stations import load_registry
from tests.alerts.simulated import engine_over

VN = timezone(timedelta(hours=7))
START = datetime(2026, 11, 21, 12, 0, tzinfo=VN).timestamp()
REGISTRY = load_registry()


def run(station_id: str, *, shower_at: float | None) -> list[AlertEpisode]:
    """A simulated day, then six hours tick by tick, a cold shower optionally among them.

    The shower cools the water 3.5 °C over 90 minutes (linearly) and it stays cool.
    """
    station = REGISTRY.stations[station_id]
    times = START + 300.0 * np.arange(30 * 12)
    series = simulate(station, times, seed=1)
    if shower_at is not None:
        series["temp"] = series["temp"] - np.clip((times - shower_at) / 5400.0, 0.0, 1.0) * 3.5
    return engine_over(station, times, series)


@pytest.mark.parametrize(
    ("station_id", "rule"), [("KG-SR-01", "shrimp.temp.shock"), ("KG-CS-01", "cage.temp.shock")]
)
def test_a_cold_shower_is_a_temperature_shock(station_id: str, rule: str) -> None:
    shower = START + 26 * 3600.0  # 14:00 the next day
    shocks = [e for e in run(station_id, shower_at=shower) if e.rule_id == rule]
    assert shocks, "no shock alert"
    assert {e.severity for e in shocks} == {Severity.WARNING}
    # 3 °C of the 3.5 are gone after 77 minutes; due 10 minutes later.
    opened = min(e.opened_at for e in shocks)
    assert shower + 77 * 60 <= opened <= shower + 95 * 60


@pytest.mark.parametrize("station_id", ["KG-SR-01", "KG-SR-03", "KG-CS-01"])
def test_a_normal_afternoon_is_no_shock(station_id: str) -> None:
    assert not [e for e in run(station_id, shower_at=None) if e.rule_id.endswith("temp.shock")]
