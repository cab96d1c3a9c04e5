"""QARTOD tests on small hand-computed series: flags written out sample by sample."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from alerts.kernels.qartod import (
    attenuated_signal,
    attenuated_signal_relative,
    device_status,
    flat_line,
    gross_range,
    rate_of_change,
    spike,
)
from telemetry import QCFlag

G, U, S, F, M = (
    int(QCFlag.GOOD),
    int(QCFlag.UNKNOWN),
    int(QCFlag.SUSPECT),
    int(QCFlag.FAIL),
    int(QCFlag.MISSING),
)
nan = float("nan")


def rows(*series: list[float]) -> npt.NDArray[np.float64]:
    """A (S, T) float array from rows written out in the test."""
    return np.array(series, dtype=np.float64)


def grid(length: int, step: float) -> npt.NDArray[np.float64]:
    """A regular epoch-second grid."""
    return 1.7e9 + step * np.arange(length)


@pytest.mark.parametrize(
    ("values", "limits", "expected"),
    [
        # fail 0-14, suspect 6-10; bounds inclusive
        (
            [-1, 0, 5.9, 6, 8, 10, 10.1, 14, 14.5, nan],
            (0, 14, 6, 10),
            [F, S, S, G, G, G, S, S, F, M],
        ),
        # fail span only
        ([-1, 0, 14, 15, nan], (0, 14, None, None), [F, G, G, F, M]),
        # suspect on one side only
        ([0.4, 0.5, 25], (0, 20, 0.5, None), [S, G, F]),
    ],
)
def test_gross_range(
    values: list[float],
    limits: tuple[float, float, float | None, float | None],
    expected: list[int],
) -> None:
    fail_low, fail_high, suspect_low, suspect_high = limits
    flags = gross_range(
        rows(values),
        fail_low=fail_low,
        fail_high=fail_high,
        suspect_low=suspect_low,
        suspect_high=suspect_high,
    )
    assert flags.dtype == np.uint8
    assert flags.tolist() == [expected]


def test_gross_range_limits_per_row() -> None:
    flags = gross_range(
        rows([5, 15], [5, 15]),
        fail_low=[0, 0],
        fail_high=[10, 20],
        suspect_low=np.array([0, 6]),
        suspect_high=[10, 20],
    )
    assert flags.tolist() == [[G, F], [S, G]]


def test_limit_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="per-row limit"):
        gross_range(rows([1, 2], [1, 2]), fail_low=[0, 0, 0], fail_high=10)


@pytest.mark.parametrize(
    ("values", "suspect", "fail", "expected"),
    [
        # the spike deviates |5 - (1 + 1) / 2| = 4 from its reference; its neighbours depart
        # 0 from the passed sample before them, so they pass
        ([1, 1, 5, 1, 1], 1.0, 3.0, [U, G, F, G, U]),
        ([1, 1, 2.5, 1, 1], 1.0, 3.0, [U, G, S, G, U]),
        # a deviation equal to the threshold passes
        ([0, 0, 2, 0, 0], 2.0, None, [U, G, G, G, U]),
        # a gap: the nearest valid sample is the neighbour, |5 - (1 + 1) / 2| = 4
        ([1, nan, 5, 1, 1, 1], 1.0, 3.0, [U, M, F, G, G, U]),
        # a step: the first two samples after it are judged against the passed 0 (deviation
        # 2, departure 4), the third against the step's own level
        ([0, 0, 0, 4, 4, 4, 4], 1.0, 3.0, [U, G, G, S, S, G, U]),
        ([1, 2], 1.0, 3.0, [U, U]),
    ],
)
def test_spike(
    values: list[float], suspect: float, fail: float | None, expected: list[int]
) -> None:
    assert spike(rows(values), suspect=suspect, fail=fail).tolist() == [expected]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # four stuck 55.353 °C values inside 29 °C water: each is judged against the passed
        # 29.1 and the next sample, so all four fail and the water after them passes
        ([29.0, 29.1, 55.353, 55.353, 55.353, 55.353, 29.2, 29.1, 29.0],
         [U, G, F, F, F, F, G, G, U]),
        # a two-sample spike
        ([29.0, 29.1, 33.0, 33.1, 29.2, 29.1], [U, G, S, S, G, U]),
        # a zig-zag: every swing departs 2 °C from the last passed 29 and deviates 3
        ([29.0, 31.0, 27.0, 31.0, 27.0, 29.0, 29.1], [U, S, S, S, S, G, U]),
    ],
)  # fmt: skip
def test_spike_catches_bursts_with_a_reference_of_passed_samples(
    values: list[float], expected: list[int]
) -> None:
    assert spike(rows(values), suspect=1.5, fail=4.0, longest=4).tolist() == [expected]


def test_spike_neighbours_are_the_nearest_samples_within_the_gap_allowed() -> None:
    # A station reporting every 617 s on a 300 s grid: every other cell is empty.
    values = [29.0, nan, 29.1, nan, 35.0, nan, nan, 29.2, nan, 29.0]
    times = 300.0 * np.arange(len(values))
    assert spike(rows(values), times, suspect=1.5, fail=4.0, max_gap_s=1800).tolist() == [
        [U, M, G, M, F, M, M, G, M, U]
    ]
    # Neighbours further than max_gap_s do not count.
    assert spike(rows(values), times, suspect=1.5, max_gap_s=300).tolist() == [
        [U, M, U, M, U, M, M, U, M, U]
    ]


def test_spike_thresholds_per_row() -> None:
    flags = spike(rows([1, 1, 5, 1, 1], [1, 1, 5, 1, 1]), suspect=[1, 5], fail=[3, 10])
    assert flags.tolist() == [[U, G, F, G, U], [U, G, G, G, U]]


@pytest.mark.parametrize(
    ("values", "times", "threshold", "expected"),
    [
        # 10-min steps: 1 per 10 min = 6/h (not above 6), 2 per 10 min = 12/h, then 1 per
        # 20 min across the gap = 3/h
        ([0, 1, 1, 3, nan, 4], [0, 600, 1200, 1800, 2400, 3000], 6.0, [U, G, G, S, M, G]),
        ([nan, 5, 5], [0, 600, 1200], 6.0, [M, U, G]),
        # irregular times are fine: 1 per minute = 60/h, then 1 per hour
        ([0, 1, 2], [0, 60, 3660], 30.0, [U, S, G]),
    ],
)
def test_rate_of_change(
    values: list[float], times: list[float], threshold: float, expected: list[int]
) -> None:
    flags = rate_of_change(rows(values), np.array(times, float), suspect_per_hour=threshold)
    assert flags.tolist() == [expected]


def test_rate_of_change_threshold_per_row() -> None:
    flags = rate_of_change(rows([0, 1], [0, 1]), np.array([0.0, 600.0]), suspect_per_hour=[5, 7])
    assert flags.tolist() == [[U, S], [U, G]]


@pytest.mark.parametrize(
    ("values", "fail_s", "expected"),
    [
        # 10-min grid; suspect 30 min = runs of 4 samples, fail 50 min = 6 samples
        ([5, 5, 5, 5, 5, 5, 5], 3000, [U, U, U, S, S, F, F]),
        # max - min of 5, 5.05, 5.1, 5.0 is 0.1: within tolerance; then 0.2
        ([5, 5.05, 5.1, 5.0, 5.2], None, [U, U, U, S, G]),
        # a gap inside the run is ignored; a run must start on a present sample
        ([5, nan, 5, 5, 5], None, [U, M, U, S, U]),
        ([5, 6, 5, 6, 5, 6], None, [U, U, U, G, G, G]),
    ],
)
def test_flat_line(values: list[float], fail_s: float | None, expected: list[int]) -> None:
    flags = flat_line(
        rows(values), grid(len(values), 600), tolerance=0.1, suspect_s=1800, fail_s=fail_s
    )
    assert flags.tolist() == [expected]


def test_flat_line_tolerance_per_row() -> None:
    values = rows([1.0, 1.2, 1.0, 1.2], [1.0, 1.2, 1.0, 1.2])
    flags = flat_line(values, grid(4, 600), tolerance=[0.1, 0.3], suspect_s=1800)
    assert flags.tolist() == [[U, U, U, G], [U, U, U, S]]


def test_flat_line_needs_a_regular_grid() -> None:
    with pytest.raises(ValueError, match="regular grid"):
        flat_line(rows([1, 1, 1]), np.array([0.0, 60.0, 180.0]), tolerance=0.1, suspect_s=60)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # hourly, 3-h window: ranges -, -, 10, 10, 10, 1, 0.5; suspect < 5, fail < 1
        ([0, 10, 0, 10, 9, 9.5, 9.2, nan], [U, U, G, G, G, S, F, M]),
        # one sample in the window is too few (half the window must be present)
        ([0, nan, nan, 10], [U, M, M, U]),
    ],
)
def test_attenuated_signal(values: list[float], expected: list[int]) -> None:
    flags = attenuated_signal(
        rows(values), grid(len(values), 3600), window_s=3 * 3600, suspect_range=5, fail_range=1
    )
    assert flags.tolist() == [expected]


# Hourly; 2-h window ranges: -, 10 x7, 6, 2, 2, 2. Reference: the median of the ranges 3 h
# and 6 h earlier (10, 10, 10, then median(6, 10) = 8 at the end). Ratios from sample 8:
# 0.6 (suspect < 0.75), 0.2, 0.2, 0.25 (fail < 0.3).
_SQUARE = [0, 10, 0, 10, 0, 10, 0, 10, 4, 6, 4, 6]


@pytest.mark.parametrize(
    ("min_reference", "expected"),
    [
        (5.0, [U, U, U, U, G, G, G, G, S, F, F, F]),
        # the last reference (8) is below 9: not evaluated
        (9.0, [U, U, U, U, G, G, G, G, S, F, F, U]),
    ],
)
def test_attenuated_signal_relative(min_reference: float, expected: list[int]) -> None:
    flags = attenuated_signal_relative(
        rows(_SQUARE),
        grid(len(_SQUARE), 3600),
        window_s=2 * 3600,
        lag_s=3 * 3600,
        lags=2,
        suspect_ratio=0.75,
        fail_ratio=0.3,
        min_reference_range=min_reference,
    )
    assert flags.tolist() == [expected]


def test_device_status() -> None:
    flags = device_status(np.array([[0, 1, 2, 3], [-1, 0, 0, 2]]))
    assert flags.dtype == np.uint8
    assert flags.tolist() == [[G, S, F, U], [U, G, G, F]]


def _naive_flat_line(
    values: npt.NDArray[np.float64], run: int, tolerance: float
) -> npt.NDArray[np.bool_]:
    """Per-sample reference: the run of ``run`` samples ending here starts present and is flat."""
    flat = np.zeros(values.shape, dtype=bool)
    for r, series in enumerate(values):
        for n in range(run - 1, series.size):
            window = series[n - run + 1 : n + 1]
            present = window[~np.isnan(window)]
            if not np.isnan(window[0]) and not np.isnan(series[n]):
                flat[r, n] = present.max() - present.min() <= tolerance
    return flat


@pytest.mark.parametrize("stuck_share", [0.0, 0.3, 1.0])
def test_flat_line_matches_a_per_sample_reference(stuck_share: float) -> None:
    rng = np.random.default_rng(7)
    values = np.round(rng.normal(7.0, 0.02, (40, 60)), 2)  # 0.01 resolution: short repeats
    stuck = rng.random(40) < stuck_share
    values[stuck, 20:] = 7.0
    values[rng.random(values.shape) < 0.05] = np.nan
    flags = flat_line(values, grid(60, 300), tolerance=0.005, suspect_s=3600, fail_s=7200)
    suspect, fail = _naive_flat_line(values, 13, 0.005), _naive_flat_line(values, 25, 0.005)
    assert np.array_equal(flags == F, fail)
    assert np.array_equal(flags == S, suspect & ~fail)


@pytest.mark.parametrize("last", [1, 2, 7, 30])
def test_last_columns_match_the_full_evaluation(last: int) -> None:
    rng = np.random.default_rng(3)
    values = np.round(10 + 5 * np.sin(np.arange(80) / 3) + rng.normal(0, 1, (30, 80)), 1)
    values[:5, 40:] = 12.0  # stuck
    values[rng.random(values.shape) < 0.1] = np.nan
    times = grid(80, 600)
    checks = [
        lambda last: flat_line(
            values, times, tolerance=0.05, suspect_s=3600, fail_s=7200, last=last
        ),
        lambda last: attenuated_signal(
            values, times, window_s=7200, suspect_range=8, fail_range=3, last=last
        ),
        lambda last: attenuated_signal_relative(
            values,
            times,
            window_s=7200,
            lag_s=6000,
            lags=3,
            suspect_ratio=0.75,
            fail_ratio=0.4,
            min_reference_range=2,
            last=last,
        ),
    ]
    for check in checks:
        full = check(None)
        assert np.array_equal(check(last), full[:, -last:])
