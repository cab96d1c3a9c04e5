"""The simulators' scenarios played through the whole alert engine, tick by tick."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from alerts.lifecycle import Severity
from simulators import compile_scenarios, load_scenario, simulate
from stations import load_registry
from tests.alerts.simulated import DAY, engine_over

VN = timezone(timedelta(hours=7))
REGISTRY = load_registry()


def test_a_night_do_crash_is_warned_before_do_reaches_3_and_then_alerted() -> None:
    station = REGISTRY.stations["KG-SR-02"]
    start = datetime(2026, 11, 20, 12, 0, tzinfo=VN).timestamp()  # a day of history first
    times = start + 300.0 * np.arange(2 * DAY)
    crash_start = start + 86_400.0
    scripts = compile_scenarios([load_scenario("do_crash_tonight")], REGISTRY, start=crash_start)
    series = simulate(station, times, seed=1, episodes=scripts["KG-SR-02"].episodes)
    do_after = series["do"][DAY:]
    below_3_5, below_3 = (float(times[DAY:][np.argmax(do_after < x)]) for x in (3.5, 3.0))
    episodes = engine_over(station, times, series)

    forecast = [e for e in episodes if e.rule_id == "forecast.do.dawn"]
    warned = min(at for e in forecast for at, tier in e.escalations if tier == Severity.WARNING)
    assert below_3 - warned >= 3 * 3600, "the forecast warned less than 3 h ahead"
    local = datetime.fromtimestamp(warned, VN)
    assert 19 <= local.hour <= 22  # in the evening, while there is time to act

    # Measured DO then takes over: a warning once below 3.5 mg/L (QCVN 02-19), hours
    # after the forecast's.
    low = [e for e in episodes if e.rule_id == "shrimp.do.low"]
    measured = min(at for e in low for at, tier in e.escalations if tier == Severity.WARNING)
    assert below_3_5 <= measured <= below_3_5 + 1800
    assert measured - warned >= 3 * 3600
    # The crash itself is not mistaken for a sensor fault.
    assert not [e for e in episodes if e.rule_id == "maintenance.do"]
    # Daylight brings DO back: the measured-DO alert resolves by the next morning.
    assert any(e.resolved_at is not None for e in low)
