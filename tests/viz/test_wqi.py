"""VN_WQI against values computed by hand from the decision's breakpoints."""

from __future__ import annotations

import numpy as np
import pytest

from viz import band, sub_indices, vn_wqi

# Saturation at 20 °C: 14.652 - 8.2044 + 3.19640 - 0.622192 = 9.021808 mg/L.
DO_SAT_20 = 9.021808


def one(**values: float) -> dict[str, np.ndarray]:
    return {code: np.array([value]) for code, value in values.items()}


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [
        ("ph", 7.0, 100.0),
        ("ph", 5.75, 75.0),  # halfway 5.5 (50) .. 6 (100)
        ("ph", 8.75, 75.0),
        ("ph", 5.0, 10.0),  # outside 5.5 .. 9
        ("bod5", 3.0, 100.0),
        ("bod5", 5.0, 87.5),  # halfway 4 (100) .. 6 (75)
        ("cod", 20.0, 75.0 - 25.0 / 3.0),  # a third of 15 (75) .. 30 (50)
        ("cod", 200.0, 10.0),
        ("nh4", 0.45, 87.5),
        ("no3", 20.0, 10.0),  # past the last breakpoint
        ("po4", 0.15, 87.5),
        ("no2", 0.05, 100.0),
        ("no2", 0.06, 10.0),
    ],
)
def test_sub_index(code: str, value: float, expected: float) -> None:
    assert sub_indices(one(**{code: value}))[code][0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("saturation", "expected"),
    [(100.0, 100.0), (81.5, 87.5), (137.5, 62.5), (10.0, 10.0), (250.0, 10.0)],
)
def test_do_sub_index_from_saturation(saturation: float, expected: float) -> None:
    do = DO_SAT_20 * saturation / 100.0
    assert sub_indices(one(do=do, temp=20.0))["do"][0] == pytest.approx(expected)


def test_index_and_band_by_hand() -> None:
    # Group IV: DO 100, BOD5 87.5, COD 66.667, NH4 87.5 -> mean 85.4167.
    values = one(do=DO_SAT_20, temp=20.0, bod5=5.0, cod=20.0, nh4=0.45)
    assert vn_wqi(values)[0] == 85.0  # pH not measured counts as 100
    assert vn_wqi({**values, **one(ph=5.75)})[0] == 64.0  # 0.75 x 85.4167
    assert band(85).name_en == "Good"
    assert band(64).rgb == (255, 255, 0)
    assert band(5).name_en == "Very heavily polluted"


def test_needs_three_group_iv_parameters_per_station() -> None:
    values = {
        "ph": np.array([7.0, 7.0]),
        "bod5": np.array([5.0, 5.0]),
        "cod": np.array([20.0, np.nan]),
        "nh4": np.array([0.45, 0.45]),
    }
    wqi = vn_wqi(values)
    assert wqi[0] == 81.0  # (87.5 + 66.667 + 87.5) / 3 = 80.56
    assert np.isnan(wqi[1])
    assert np.isnan(vn_wqi(one(ph=7.0))[0])
