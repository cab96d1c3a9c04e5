"""Disease-risk score: hand-computed scores, factor contributions, window summaries."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.config.threshold_profiles import load_profiles
from alerts.kernels.risk import (
    DEFAULT_WEIGHTS,
    RiskConfig,
    RiskFactor,
    RiskInputs,
    RiskParams,
    disease_risk,
    hours_below,
    salinity_change,
)
from stations import load_registry

N = float("nan")
# White-leg shrimp: DO below 4 counts, NH3 limit 0.1, optimum 28-32 °C, full scale 3 °C.
SHRIMP = RiskConfig(do_threshold=4.0, nh3_limit=0.1, temp_low=28.0, temp_high=32.0)
# Cage ladder: DO below 4, NH3 limit 0.05, optimum 20-33 °C, full scale 5 °C.
CAGE = RiskConfig(
    do_threshold=4.0, nh3_limit=0.05, temp_low=20.0, temp_high=33.0, temp_full_scale=5.0
)


def score(config: RiskConfig, *inputs: float) -> tuple[float, list[float], list[bool]]:
    """Score one station from (DO hours, NH3, pH swing, salinity swing, temp min, temp max)."""
    params = RiskParams.from_configs([config])
    do, nh3, ph, sal, low, high = (np.array([v]) for v in inputs)
    result = disease_risk(RiskInputs(do, nh3, ph, sal, low, high), params=params)
    return (
        float(result.score[0]),
        result.contributions[0].tolist(),
        result.available[0].tolist(),
    )


@pytest.mark.parametrize(
    ("config", "inputs", "expected", "points"),
    [
        # Calm: nothing beyond half a limit, temperature in the optimum.
        (SHRIMP, (0, 0.02, 0.2, 1.0, 29, 31), 0.0, [0, 0, 0, 0, 0]),
        # 3 h low DO = 0.5 x 30; NH3 at its limit: ratio 1 -> 0.5 x 25; pH swing 0.5 at its
        # limit -> 0.5 x 15; salinity swing 7.5 = 1.5 x 5 -> full 15; 33.5 °C is 1.5 above
        # 32 -> 0.5 x 15.
        (SHRIMP, (3, 0.1, 0.5, 7.5, 29, 33.5), 57.5, [15, 12.5, 7.5, 15, 7.5]),
        # Everything at or past full scale: 100.
        (SHRIMP, (12, 0.2, 1.0, 10, 20, 31), 100.0, [30, 25, 15, 15, 15]),
        # Ramps: NH3 0.075 -> ratio 0.75 -> 0.25 x 25; pH 0.3 -> 0.6 -> 0.1 x 15;
        # 1 h low DO -> 1/6 x 30; 27 °C is 1 below 28 -> 1/3 x 15.
        (SHRIMP, (1, 0.075, 0.3, 2.5, 27, 30), 17.75, [5, 6.25, 1.5, 0, 5]),
        # Cage: NH3 0.05 = its limit -> 12.5; 36 °C is 3 above 33 -> 3/5 x 15 = 9.
        (CAGE, (0, 0.05, 0.25, 2.5, 25, 36), 21.5, [0, 12.5, 0, 0, 9]),
    ],
)
def test_hand_computed_scores(
    config: RiskConfig, inputs: tuple[float, ...], expected: float, points: list[float]
) -> None:
    total, contributions, available = score(config, *inputs)
    assert total == pytest.approx(expected)
    assert contributions == pytest.approx(points)
    assert all(available)


def test_missing_factors_count_zero_and_are_reported() -> None:
    # No NH3 (no TAN sensor) and no salinity: DO 6 h -> 30, pH swing 0.75 -> 15.
    total, contributions, available = score(SHRIMP, 6, N, 0.75, N, 28, 32)
    assert total == 45.0
    assert contributions == [30, 0, 15, 0, 0]
    assert available == [True, False, True, False, True]
    assert np.isnan(score(SHRIMP, N, N, N, N, N, N)[0])


def test_many_stations_at_once_and_their_drivers() -> None:
    params = RiskParams.from_configs([SHRIMP, CAGE, SHRIMP])
    inputs = RiskInputs(
        do_hours_below=np.array([3.0, 0.0, N]),
        nh3_max=np.array([0.1, 0.05, N]),
        ph_swing=np.array([0.5, 0.25, N]),
        sal_swing=np.array([7.5, 2.5, N]),
        temp_min=np.array([29.0, 25.0, N]),
        temp_max=np.array([33.5, 36.0, N]),
    )
    result = disease_risk(inputs, params=params)
    np.testing.assert_allclose(result.score, [57.5, 21.5, N])
    drivers = result.drivers(min_points=10)
    names = [[f.key for f in RiskFactor if row[f]] for row in drivers]
    assert names == [["do_low", "nh3", "sal_swing"], ["nh3"], []]


def test_window_summaries() -> None:
    # Two stations, six 5-minute samples (each sample below the DO threshold counts 5 min).
    do = np.array([[5.0, 3.9, 3.0, N, 3.5, 6.0], [N, N, N, N, N, N]])
    nh3 = np.array([[0.01, 0.05, N, 0.02, 0.03, 0.01], [0.2, 0.1, 0.1, 0.1, 0.1, 0.1]])
    ph = np.array([[7.8, 8.1, 8.3, 7.9, N, 7.7], [8.0, 8.0, 8.0, 8.0, 8.0, 8.0]])
    sal_change = np.array([5.0, N])  # since this hour yesterday (salinity_change)
    temp = np.array([[27.5, 28, 29, 30, 31, 33.0], [29.0, 29, 29, 29, 29, 29]])
    params = RiskParams.from_configs([SHRIMP, CAGE])
    inputs = RiskInputs.from_window(
        do=do, nh3=nh3, ph=ph, sal_change=sal_change, temp=temp, params=params, interval_s=300
    )
    np.testing.assert_allclose(inputs.do_hours_below, [3 * 300 / 3600, N])
    np.testing.assert_allclose(inputs.nh3_max, [0.05, 0.2])
    np.testing.assert_allclose(inputs.ph_swing, [0.6, 0.0])
    np.testing.assert_allclose(inputs.sal_swing, [5.0, N])
    np.testing.assert_allclose(inputs.temp_min, [27.5, 29.0])
    np.testing.assert_allclose(inputs.temp_max, [33.0, 29.0])
    result = disease_risk(inputs, params=params)
    # Station 0: DO 0.25 h -> 0.25/6 x 30 = 1.25; NH3 0.5 -> 0; pH 0.6/0.5 = 1.2 -> 0.7 x 15
    # = 10.5; salinity 5/5 -> 7.5; temperature 1 above 32 -> 1/3 x 15 = 5.  Total 24.25.
    # Station 1 (cage): NH3 0.2 / 0.05 = 4 -> 25; nothing else.
    np.testing.assert_allclose(result.score, [24.25, 25.0])


def test_a_score_series_in_one_call() -> None:
    # Row 0 is the 57.5 case at its second instant, row 1 the cage's 21.5 at its first.
    inputs = RiskInputs(
        do_hours_below=np.array([[0.0, 3.0], [0.0, 12.0]]),
        nh3_max=np.array([[0.02, 0.1], [0.05, 0.05]]),
        ph_swing=np.array([[0.2, 0.5], [0.25, 0.25]]),
        sal_swing=np.array([[1.0, 7.5], [2.5, 2.5]]),
        temp_min=np.array([[29.0, 29.0], [25.0, 25.0]]),
        temp_max=np.array([[31.0, 33.5], [36.0, 36.0]]),
    )
    result = disease_risk(inputs, params=RiskParams.from_configs([SHRIMP, CAGE]))
    np.testing.assert_allclose(result.score, [[0.0, 57.5], [21.5, 51.5]])
    assert result.contributions.shape == (2, 2, 5)
    np.testing.assert_allclose(result.contributions[0, 1], [15, 12.5, 7.5, 15, 7.5])


def test_hours_below() -> None:
    values = np.array([[3.0, 5.0, N, 2.0], [N, N, N, N], [1.0, 1.0, 1.0, 1.0]])
    hours = hours_below(
        values, threshold=np.array([4.0, 4.0, 0.5]), interval_s=np.array([600, 300, 3600])
    )
    np.testing.assert_allclose(hours, [2 * 600 / 3600, N, 0.0])


def test_the_profiles_carry_the_documented_settings() -> None:
    registry = load_registry()
    profiles = load_profiles()
    white_leg = profiles.risk_for(registry.stations["KG-SR-01"])
    black_tiger = profiles.risk_for(registry.stations["KG-SR-03"])
    cage = profiles.risk_for(registry.stations["KG-CS-01"])
    assert white_leg is not None
    assert black_tiger is not None
    assert cage is not None
    assert (white_leg.do_threshold, black_tiger.do_threshold) == (4.0, 5.0)
    assert (white_leg.temp_low, white_leg.temp_high, cage.temp_low, cage.temp_high) == (
        28,
        32,
        20,
        33,
    )
    assert white_leg.weights == cage.weights == DEFAULT_WEIGHTS
    assert sum(DEFAULT_WEIGHTS) == 100
    assert white_leg.verify  # weights are an engineering choice until calibrated
    assert profiles.risk_for(registry.stations["KG-EF-01"]) is None
    assert all(f.label_vi and f.label_en for f in RiskFactor)


HOUR = 12  # 5-minute samples


@pytest.mark.parametrize(
    ("yesterday", "today", "expected"),
    [
        ([20.0] * HOUR, [20.0] * HOUR, 0.0),
        ([20.0] * HOUR, [14.0] * HOUR, 6.0),  # freshening
        ([14.0] * HOUR, [17.0] * HOUR, 3.0),  # a rise counts too
        ([20.0, N] * (HOUR // 2), [N, 16.0] * (HOUR // 2), 4.0),  # gaps ignored
        ([N] * HOUR, [14.0] * HOUR, N),  # nothing to compare with
    ],
)
def test_salinity_change_compares_the_hour_with_the_same_hour_yesterday(
    yesterday: list[float], today: list[float], expected: float
) -> None:
    between = [30.0] * (288 - HOUR)  # what happened in between does not count
    series = np.array([yesterday + between + today])
    times = 300.0 * np.arange(series.shape[1])
    np.testing.assert_allclose(salinity_change(series, times), [expected])


def test_salinity_change_needs_a_day_and_an_hour() -> None:
    times = 300.0 * np.arange(288)
    np.testing.assert_allclose(salinity_change(np.full((1, 288), 20.0), times), [N])
