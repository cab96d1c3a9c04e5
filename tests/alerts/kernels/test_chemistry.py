"""Water chemistry: REFERENCE §3 check values."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.kernels.chemistry import (
    do_percent_saturation,
    do_saturation,
    unionized_ammonia,
    unionized_ammonia_fraction,
)

nan = float("nan")


@pytest.mark.parametrize(
    ("temp_c", "salinity", "expected"),
    [(25, 0, 8.26), (30, 0, 7.56), (30, 15, 6.96), (30, 30, 6.41)],
)
def test_do_saturation_reference_values(temp_c: float, salinity: float, expected: float) -> None:
    assert round(float(do_saturation(temp_c, salinity)), 2) == expected


def test_do_saturation_is_vectorised_and_keeps_nan() -> None:
    result = do_saturation(np.array([[25.0, 30.0], [30.0, nan]]), np.array([[0.0, 0.0], [30, 0]]))
    assert result.shape == (2, 2)
    assert np.round(result[0], 2).tolist() == [8.26, 7.56]
    assert round(float(result[1, 0]), 2) == 6.41
    assert np.isnan(result[1, 1])


def test_do_percent_saturation() -> None:
    # 7.56 mg/L at 30 °C in fresh water is saturation; half of it is 50 %.
    result = do_percent_saturation([7.559, 3.7795], 30.0, 0.0)
    assert result == pytest.approx([100.0, 50.0], abs=0.05)


@pytest.mark.parametrize(("ph", "percent"), [(8.0, 7.4), (8.5, 20.3)])
def test_unionized_ammonia_fraction_reference_values(ph: float, percent: float) -> None:
    # The formula gives 7.43 % and 20.248 %; REFERENCE §3 rounds the latter up to 20.3.
    assert 100 * float(unionized_ammonia_fraction(ph, 30.0)) == pytest.approx(percent, abs=0.06)


def test_unionized_ammonia_scales_tan() -> None:
    # 2 mg/L TAN at 30 °C, pH 8.0: 7.43 % un-ionized.
    result = unionized_ammonia(np.array([2.0, nan]), 8.0, 30.0)
    assert result[0] == pytest.approx(0.1486, abs=0.0005)
    assert np.isnan(result[1])
