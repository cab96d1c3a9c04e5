"""The dawn DO forecast on simulated nights: silent on a normal night, early on a crash."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from alerts.detectors.dawn import RULE, dawn_forecast
from alerts.detectors.findings import Findings
from alerts.kernels.window import Window
from alerts.states import Severity
from simulators import compile_scenarios, load_scenario, simulate
from stations import Station, load_registry

VN = timezone(timedelta(hours=7))
REGISTRY = load_registry()
STATION = REGISTRY.stations["KG-SR-02"]
START = datetime(2026, 11, 21, 12, 0, tzinfo=VN).timestamp()
TIMES = START + 300.0 * np.arange(24 * 12)


def night(crash: bool) -> np.ndarray:
    episodes = ()
    if crash:
        scripts = compile_scenarios([load_scenario("do_crash_tonight")], REGISTRY, start=START)
        episodes = scripts["KG-SR-02"].episodes
    return simulate(STATION, TIMES, seed=1, episodes=episodes)["do"]


def forecasts(do: np.ndarray, station: Station = STATION) -> list[tuple[float, float, int]]:
    """(tick time, projected DO, tier) of every tick that raised the forecast, 18:00 to 06:00."""
    raised = []
    for column in range(6 * 12, 18 * 12):
        now = float(TIMES[column])
        window = Window([station], span_s=86_400, end=now)
        window.values[window.station_rows("do")[0], -(column + 1) :] = do[: column + 1]
        episodes = dawn_forecast(window, window.values, now=now).episodes
        if episodes:
            (episode,) = episodes
            assert episode.rule_id == RULE
            raised.append((now, episode.details["projected_do"], episode.severity))
    return raised


def test_a_crash_night_is_forecast_hours_before_do_falls_below_3() -> None:
    do = night(crash=True)
    below_3 = TIMES[np.argmax(do < 3)]
    raised = forecasts(do)
    assert raised, "no forecast on the crash night"
    first, projected, _ = raised[0]
    assert below_3 - first >= 3 * 3600, "less than 3 h of warning"
    assert projected < 3
    assert all(p < 3.5 for _, p, _ in raised)  # it holds until dawn, never recovering
    local = datetime.fromtimestamp(first, VN)
    assert 19 <= local.hour <= 22
    warned = next(t for t, _, tier in raised if tier == Severity.WARNING)
    assert below_3 - warned >= 2 * 3600, "the warning (SMS tier) came less than 2 h ahead"


@pytest.mark.parametrize("station_id", ["KG-SR-01", "KG-SR-02", "KG-SR-03", "KG-CS-01"])
def test_healthy_simulated_nights_get_no_warning(station_id: str) -> None:
    station = REGISTRY.stations[station_id]
    do = simulate(station, TIMES, seed=1)["do"]
    assert do.min() > 3.0  # a normal night
    assert all(tier < Severity.WARNING for _, _, tier in forecasts(do, station))


@pytest.mark.parametrize("kind", ["effluent"])
def test_only_shrimp_and_cage_stations(kind: str) -> None:
    station = REGISTRY.stations["KG-EF-01"]
    window = Window([station], span_s=86_400, end=float(TIMES[-1]))
    window.values[:] = 1.0
    assert dawn_forecast(window, window.values, now=float(TIMES[-1])) == Findings()
    assert station.kind.value == kind
