"""The dawn DO forecast on simulated nights: silent on a normal night, early on a crash."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from alerts.detectors.dawn import RULE, NightMemory, dawn_forecast
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


def test_a_station_whose_nights_level_off_learns_to_warn_less() -> None:
    """Evenings that fall fast and then level off: the projection is too pessimistic."""
    memory = NightMemory()
    days = 6
    start = START - 86_400.0  # noon, six days of 5-minute samples
    times = start + 300.0 * np.arange(days * 288)
    hours = (times - START) / 3600.0 % 24  # hours since noon, local
    # 8 mg/L by day; from 18:00 a fall of 1 mg/L per hour that levels off at 4.5 mg/L.
    evening = np.clip(hours - 6.0, 0.0, None)
    do = np.where(hours < 6.0, 8.0, 4.5 + 3.5 * np.exp(-evening / 3.5))
    tiers: dict[int, int] = {}  # night → highest tier
    for column in range(288, len(times)):
        now = float(times[column])
        window = Window([STATION], span_s=86_400, end=now)
        window.values[window.station_rows("do")[0], -289:] = do[column - 288 : column + 1]
        found = dawn_forecast(window, window.values, now=now, memory=memory)
        for episode in found.episodes:
            night = int((episode.opened_at - start) // 86_400)
            tiers[night] = max(tiers.get(night, 0), episode.severity)
    # The plain rule warns on the first nights; once three are learnt, no more warnings.
    assert tiers[1] == Severity.WARNING
    assert max(tiers.get(n, 0) for n in (4, 5)) < Severity.WARNING
    excess = list(memory.excess[STATION.id])
    assert len(excess) >= 3
    assert all(e > 1.0 for e in excess)  # each night ended well above the projection
    assert memory.bias(STATION.id) == pytest.approx(float(np.median(excess)))


def test_the_learnt_bias_only_relaxes_and_needs_three_nights() -> None:
    memory = NightMemory()
    memory.excess["S"] = deque([2.0, 1.0], maxlen=7)
    assert memory.bias("S") == 0.0  # two nights are not enough
    memory.excess["S"].append(1.5)
    assert memory.bias("S") == 1.5
    memory.excess["T"] = deque([-1.0, -2.0, 0.5], maxlen=7)
    assert memory.bias("T") == 0.0  # nights that fell faster than projected change nothing
