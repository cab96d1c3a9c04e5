"""Dawn DO projection: hand-computed fits, crashing and healthy nights, noise, too few points."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from alerts.kernels.forecast import dawn_do_projection, dawn_do_projections

HOUR = 3600.0
SUNSET = 1.8e9  # an evening; times below are relative to it
SUNRISE = SUNSET + 12 * HOUR
STEP = 300.0  # 5-minute samples
nan = float("nan")


def evening(hours: float) -> npt.NDArray[np.float64]:
    """5-minute grid from one hour before sunset to ``hours`` after it."""
    return SUNSET + np.arange(-HOUR, hours * HOUR + 1, STEP)


def decline(
    times: npt.NDArray[np.float64], start: float, crosses_3_at_h: float
) -> npt.NDArray[np.float64]:
    """Exponential decline from ``start`` mg/L at sunset, reaching 3 mg/L at the given hour."""
    rate = np.log(start / 3.0) / crosses_3_at_h
    result: npt.NDArray[np.float64] = start * np.exp(-rate * (times - SUNSET) / HOUR)
    return result


def test_hand_computed_fits() -> None:
    # DO halves every 2 h: 8, 4, 2 mg/L at sunset, +2 h, +4 h; sunrise at +5 h.
    # Log-linear is exact: 8 · 0.5^2.5 = 1.4142. Linear: slope -1.5 mg/L/h, intercept 23/3,
    # so 23/3 - 7.5 = 0.1667 at +5 h.
    times = SUNSET + np.array([0.0, 2.0, 4.0]) * HOUR
    linear, loglinear, projected = dawn_do_projection(
        times,
        np.array([[8.0, 4.0, 2.0]]),
        sunset=[SUNSET],
        sunrise=[SUNSET + 5 * HOUR],
        now=SUNSET + 4 * HOUR,
        min_points=3,
    )
    assert linear[0] == pytest.approx(1 / 6)
    assert loglinear[0] == pytest.approx(2**0.5)
    assert projected[0] == pytest.approx(1 / 6)


def test_crash_is_foreseen_two_hours_after_dusk() -> None:
    times = evening(2)
    do = decline(times, 7.0, crosses_3_at_h=10.0)  # 2.5 mg/L by sunrise
    linear, loglinear, projected = dawn_do_projection(
        times, do[np.newaxis], sunset=[SUNSET], sunrise=[SUNRISE], now=times[-1], min_points=6
    )
    assert loglinear[0] == pytest.approx(7.0 * (3 / 7) ** 1.2)  # exact for an exponential
    assert linear[0] < 3.0
    assert projected[0] < 3.0


def test_healthy_night_stays_above_3() -> None:
    times = evening(3)
    do = 5.0 + 0.05 * np.sin((times - SUNSET) / HOUR)  # about 5 mg/L all evening
    _, _, projected = dawn_do_projection(
        times, do[np.newaxis], sunset=[SUNSET], sunrise=[SUNRISE], now=times[-1], min_points=6
    )
    assert projected[0] > 3.0


def test_noise_does_not_change_the_verdict() -> None:
    rng = np.random.default_rng(11)
    times = evening(3)
    crash = decline(times, 7.0, crosses_3_at_h=10.0)  # truth at sunrise 2.54
    healthy = decline(times, 7.0, crosses_3_at_h=30.0)  # truth at sunrise 5.27
    rows = np.vstack([np.tile(crash, (100, 1)), np.tile(healthy, (100, 1))])
    rows += rng.normal(0.0, 0.15, rows.shape)  # a typical optical-probe scatter
    _, loglinear, projected = dawn_do_projection(
        times,
        rows,
        sunset=np.full(200, SUNSET),
        sunrise=np.full(200, SUNRISE),
        now=times[-1],
        min_points=6,
    )
    assert np.all(projected[:100] < 3.0)
    assert np.all(projected[100:] > 3.0)
    assert np.mean(np.abs(loglinear[:100] - 7.0 * (3 / 7) ** 1.2)) < 0.3


def test_only_samples_between_sunset_and_now_count() -> None:
    times = evening(4)
    do = decline(times, 7.0, crosses_3_at_h=10.0)
    now = SUNSET + 2 * HOUR
    polluted = do.copy()
    polluted[times < SUNSET] = 20.0  # afternoon supersaturation
    polluted[times > now] = 0.0  # not yet measured
    clean = dawn_do_projection(
        times, do[np.newaxis], sunset=[SUNSET], sunrise=[SUNRISE], now=now, min_points=6
    )
    dirty = dawn_do_projection(
        times, polluted[np.newaxis], sunset=[SUNSET], sunrise=[SUNRISE], now=now, min_points=6
    )
    assert np.allclose(clean, dirty)


def test_rows_are_independent_and_too_few_points_give_nan() -> None:
    times = evening(2)
    do = decline(times, 7.0, crosses_3_at_h=10.0)
    sparse = np.full_like(do, nan)
    sparse[[12, 20, 30]] = do[[12, 20, 30]]  # three samples after sunset
    rows = np.vstack([do, sparse, np.full_like(do, nan), do])
    sunsets = np.array([SUNSET, SUNSET, SUNSET, SUNSET + 1.5 * HOUR])  # row 4: 7 samples
    linear, loglinear, projected = dawn_do_projection(
        times, rows, sunset=sunsets, sunrise=np.full(4, SUNRISE), now=times[-1], min_points=8
    )
    assert np.isfinite(projected[0])
    assert np.isnan(linear[1:]).all()
    assert np.isnan(loglinear[1:]).all()
    assert np.isnan(projected[1:]).all()


def test_non_positive_do_is_left_out_of_the_log_fit_and_linear_is_clipped() -> None:
    times = SUNSET + np.array([0.0, 1.0, 2.0, 3.0]) * HOUR
    linear, loglinear, projected = dawn_do_projection(
        times,
        np.array([[6.0, 3.0, 1.5, 0.0]]),
        sunset=[SUNSET],
        sunrise=[SUNSET + 4 * HOUR],
        now=times[-1],
        min_points=3,
    )
    assert linear[0] == 0.0  # the line goes below zero before sunrise
    assert loglinear[0] == pytest.approx(6.0 * 0.5**4)  # fitted on 6, 3, 1.5 only
    assert projected[0] == 0.0


def test_min_points_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="min_points"):
        dawn_do_projection(
            evening(1),
            np.ones((1, 25)),
            sunset=[SUNSET],
            sunrise=[SUNRISE],
            now=SUNSET,
            min_points=1,
        )


def test_projections_at_many_instants_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    times = 3600.0 * 18 + 300.0 * np.arange(150)
    do = 7.0 - 0.4 * (times - times[0]) / 3600.0 + rng.normal(0, 0.1, (3, times.size))
    do[1, 40:60] = np.nan
    do[2] = np.abs(do[2])
    sunset = np.array([times[0], times[10], times[0]])
    sunrise = sunset + 11 * 3600.0
    instants = times[20::7]
    linear, loglinear = dawn_do_projections(
        times, do, sunset=sunset, sunrise=sunrise, instants=instants, min_points=4
    )
    for k, instant in enumerate(instants):
        one_linear, one_loglinear, _ = dawn_do_projection(
            times, do, sunset=sunset, sunrise=sunrise, now=float(instant), min_points=4
        )
        np.testing.assert_allclose(linear[k], one_linear, rtol=1e-9)
        np.testing.assert_allclose(loglinear[k], one_loglinear, rtol=1e-9)
