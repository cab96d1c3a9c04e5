"""Trailing-window statistics: hand-computed expected values."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from alerts.kernels.rolling import (
    change_over,
    daily_range,
    fall_since,
    grid_step,
    nan_median,
    rolling_count,
    rolling_max,
    rolling_min,
    run_samples,
    window_range,
    window_samples,
)

nan = float("nan")


def hours(count: int, step_h: float) -> npt.NDArray[np.float64]:
    """A regular grid of ``count`` samples every ``step_h`` hours."""
    return 1.7e9 + 3600.0 * step_h * np.arange(count)


_X = [[1, nan, 3, 2, nan, nan, 0]]


@pytest.mark.parametrize(
    ("window", "maximum", "minimum", "count"),
    [
        (3, [1, 1, 3, 3, 3, 2, 0], [1, 1, 1, 2, 2, 2, 0], [1, 1, 2, 2, 2, 1, 1]),
        (2, [1, 1, 3, 3, 2, nan, 0], [1, 1, 3, 2, 2, nan, 0], [1, 1, 1, 2, 1, 0, 1]),
        (1, [1, nan, 3, 2, nan, nan, 0], [1, nan, 3, 2, nan, nan, 0], [1, 0, 1, 1, 0, 0, 1]),
    ],
)
def test_rolling_windows(
    window: int, maximum: list[float], minimum: list[float], count: list[int]
) -> None:
    assert np.array_equal(rolling_max(_X, window=window), [maximum], equal_nan=True)
    assert np.array_equal(rolling_min(_X, window=window), [minimum], equal_nan=True)
    assert rolling_count(_X, window=window).tolist() == [count]


def _naive_max(values: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.float64]:
    out = np.full(values.shape, nan)
    for r, series in enumerate(values):
        for n in range(series.size):
            part = series[max(0, n - window + 1) : n + 1]
            if not np.all(np.isnan(part)):
                out[r, n] = np.nanmax(part)
    return out


@pytest.mark.parametrize("window", [1, 2, 5, 16, 17, 40, 90])
@pytest.mark.parametrize("last", [None, 1, 3, 20, 60, 100])
def test_rolling_max_matches_a_per_sample_reference(window: int, last: int | None) -> None:
    rng = np.random.default_rng(window)
    values = rng.normal(size=(6, 60))
    values[rng.random(values.shape) < 0.3] = nan
    expected = _naive_max(values, window)
    keep = 60 if last is None else min(last, 60)
    result = rolling_max(values, window=window, last=last)
    assert np.array_equal(result, expected[:, 60 - keep :], equal_nan=True)


def test_grid_step() -> None:
    assert grid_step(hours(3, 0.5)) == 1800.0
    assert grid_step(np.array([5.0])) == float("inf")
    with pytest.raises(ValueError, match="regular grid"):
        grid_step(np.array([0.0, 60.0, 180.0]))
    with pytest.raises(ValueError, match="regular grid"):
        grid_step(np.array([60.0, 0.0]))


def test_window_lengths() -> None:
    assert window_samples(300.0, 86_400.0) == 288  # (t - 24 h, t]
    # A window that is not a whole number of steps: t, t - 300 ... t - 44 700 lie in
    # (t - 44 712, t], 150 instants.
    assert window_samples(300.0, 44_712.0) == 150
    assert window_samples(300.0, 299.0) == 1
    assert window_samples(300.0, 301.0) == 2
    assert run_samples(300.0, 3600.0) == 13  # first and last sample an hour apart
    assert window_samples(float("inf"), 86_400.0) == 1


def test_daily_range_is_a_trailing_24_h_range() -> None:
    # 6-hourly, so the trailing 24 h holds 4 samples.
    ph = [[7.0, 7.4, 7.8, 7.2, 7.1, nan, 7.6]]
    result = daily_range(ph, hours(7, 6))
    assert np.allclose(result, [[0.0, 0.4, 0.8, 0.8, 0.7, nan, 0.5]], equal_nan=True)


def test_change_over_24_h() -> None:
    salinity = [[20, 18, 15, 16, nan, 14]]
    result = change_over(salinity, hours(6, 6), window_s=86_400)
    assert np.array_equal(result, [[0, 2, 5, 4, nan, 2]], equal_nan=True)


@pytest.mark.parametrize(
    ("mean_s", "expected"),
    [(3600, [nan, nan, 2, 4, nan, -2]), (7200, [nan, nan, 1.5, 3, nan, -0.5])],
)
def test_fall_since_the_same_hour_yesterday(mean_s: float, expected: list[float]) -> None:
    salinity = [[20, 19, 18, 15, nan, 17]]  # hourly; "yesterday" is 2 h back here
    result = fall_since(salinity, hours(6, 1), lag_s=7200, mean_s=mean_s)
    assert np.array_equal(result, [expected], equal_nan=True)
    for last in range(7):  # the newest columns alone, as a tick asks for them
        newest = fall_since(salinity, hours(6, 1), lag_s=7200, mean_s=mean_s, last=last)
        assert np.array_equal(newest, result[:, 6 - last :], equal_nan=True)


def test_a_diurnal_tide_is_no_fall_but_a_rain_freshening_is() -> None:
    times = 300.0 * np.arange(2 * 288)
    tide = 15 + 3 * np.sin(2 * np.pi * times / 86_400)  # a 6 ‰ swing every day
    rain = tide - 6 * np.clip((times - 40 * 3600) / 7200, 0, 1)  # freshened by 6 ‰ in 2 h
    day = slice(288 + 12, None)  # once both hourly means are full
    old = rolling_max([tide], window=288)[0] - tide  # the fall from the 24-h maximum
    assert np.nanmax(old[day]) > 5.9  # the old measure: a daily alarm
    assert np.abs(fall_since([tide], times)[0, day]).max() < 1e-9
    assert fall_since([rain], times)[0, -1] == pytest.approx(6.0)


def test_change_over_3_h_either_way() -> None:
    temperature = [[28, 29, 31, 30, 33], [31, 30, 27.5, 28, nan]]  # a rise; a rain shower
    result = change_over(temperature, hours(5, 1))
    assert np.array_equal(result, [[0, 1, 3, 1, 3], [0, 1, 3.5, 2, nan]], equal_nan=True)


def test_derived_windows_can_return_only_the_newest_columns() -> None:
    salinity = np.array([[20, 18, 15, 16, nan, 14]], float)
    newest = change_over(salinity, hours(6, 6), window_s=86_400, last=2)
    assert np.array_equal(newest, [[nan, 2]], equal_nan=True)
    assert daily_range(salinity, hours(6, 6), last=1).tolist() == [[2.0]]


def test_nan_median_over_the_first_axis() -> None:
    stack = [[1, nan, nan, 1], [3, 2, nan, 3], [2, nan, nan, nan]]
    assert np.array_equal(nan_median(stack), [2, 2, nan, 2], equal_nan=True)


def test_window_range_with_coverage() -> None:
    # windows of 3 ending at columns 2..4: [1, nan, 3], [nan, 3, nan], [3, nan, 0]
    spread, enough = window_range([[1, nan, 3, nan, 0]], window=3, min_count=2, end=5, n=3)
    assert np.array_equal(spread, [[2, 0, 3]])
    assert enough.tolist() == [[True, False, True]]  # the middle one: 1 sample, itself missing
    # windows reaching back before the data never count
    _, early = window_range([[1, 2, 3]], window=3, min_count=1, end=3, n=3)
    assert early.tolist() == [[False, False, True]]
