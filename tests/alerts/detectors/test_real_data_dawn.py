"""The dawn DO projection measured against 55 real nights (Grand Bay 2021).

These are the figures ``alerts.detectors.dawn`` quotes to justify its tiers: three hours after
sunset, each model projected to sunrise and compared with the night's measured minimum.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from alerts.kernels.forecast import dawn_do_projection
from alerts.kernels.sun import sunrise_sunset
from tests.alerts.real_data import column, times_of

LATITUDE, LONGITUDE = 30.36, -88.42  # Bangs Lake, Grand Bay NERRS
FloatArray = npt.NDArray[np.float64]


@pytest.fixture(scope="module")
def nights(grand_bay: dict[str, list[str]]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(measured night minimum, linear, log-linear projection) of every complete night."""
    times, do = times_of(grand_bay), column(grand_bay, "DO_mgl")
    rows = []
    for noon in np.arange(times[0] + 43_200, times[-1] - 86_400, 86_400.0):
        sunset = float(sunrise_sunset(LATITUDE, LONGITUDE, day=noon)[1])
        sunrise = float(sunrise_sunset(LATITUDE, LONGITUDE, day=noon + 86_400)[0])
        night = (times >= sunset) & (times <= sunrise + 1800)
        if np.isnan(do[night]).mean() > 0.2:  # maintenance gaps, the hurricane outage
            continue
        evening = (times >= sunset) & (times <= sunset + 3 * 3600)
        linear, loglinear, _ = dawn_do_projection(
            times[evening],
            do[evening][np.newaxis],
            sunset=sunset,
            sunrise=sunrise,
            now=sunset + 3 * 3600,
            min_points=4,
        )
        rows.append((np.nanmin(do[night]), linear[0], loglinear[0]))
    table = np.array(rows)
    return table[:, 0], table[:, 1], table[:, 2]


def test_the_projection_errors_on_real_nights(
    nights: tuple[FloatArray, FloatArray, FloatArray],
) -> None:
    measured, linear, loglinear = nights
    assert len(measured) == 55
    assert np.mean(np.abs(linear - measured)) == pytest.approx(1.38, abs=0.01)
    assert np.mean(linear - measured) == pytest.approx(-0.85, abs=0.01)
    assert np.mean(np.abs(loglinear - measured)) == pytest.approx(0.90, abs=0.01)
    assert np.mean(loglinear - measured) == pytest.approx(-0.28, abs=0.01)


@pytest.mark.parametrize(
    ("decision", "caught", "false_alarms"),
    [("lower", 2, 15), ("both", 2, 10)],
)
def test_warning_on_the_lower_and_on_agreement(
    nights: tuple[FloatArray, FloatArray, FloatArray],
    decision: str,
    caught: int,
    false_alarms: int,
) -> None:
    measured, linear, loglinear = nights
    projected = np.fmin(linear, loglinear) if decision == "lower" else np.fmax(linear, loglinear)
    warned = projected < 3.0
    assert (measured < 3.0).sum() == 2  # the nights that really fell below 3 mg/L
    assert (warned & (measured < 3.0)).sum() == caught
    assert (warned & (measured >= 3.5)).sum() == false_alarms
