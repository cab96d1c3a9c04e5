"""Vietnam Water Quality Index (VN_WQI, Decision 1460/QĐ-TCMT, 2019), vectorised over stations.

Sub-indices interpolate linearly between the decision's breakpoints. AquaWatch measures no
pesticides, metals or coliforms, so groups II, III and V are absent: missing groups II and III
count as 100 and, without group V, ``WQI = (I/100) · mean(IV)``. Group I is pH (100 when not
measured); group IV needs at least three of DO (as % saturation, from DO and temperature),
BOD5, COD, TOC, N-NH4, N-NO3, N-NO2, P-PO4, else the index is not computable (NaN).
Values beyond the last breakpoint score 10, as pH and DO outside their ranges do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

OUTSIDE: Final = 10.0
MIN_GROUP_IV: Final = 3

# Group IV: (breakpoints, scores) of each parameter code; values up to the first score 100.
_GROUP_IV: Final = {
    "bod5": ((4.0, 6.0, 15.0, 25.0, 50.0), (100.0, 75.0, 50.0, 25.0, 10.0)),
    "cod": ((10.0, 15.0, 30.0, 50.0, 150.0), (100.0, 75.0, 50.0, 25.0, 10.0)),
    "toc": ((4.0, 6.0, 15.0, 25.0, 50.0), (100.0, 75.0, 50.0, 25.0, 10.0)),
    "nh4": ((0.3, 0.6, 0.9, 5.0), (100.0, 75.0, 50.0, 25.0)),
    "no3": ((2.0, 5.0, 10.0, 15.0), (100.0, 75.0, 50.0, 25.0)),
    "po4": ((0.1, 0.2, 0.3, 0.5, 4.0), (100.0, 75.0, 50.0, 25.0, 10.0)),
}
_PH: Final = ((5.5, 6.0, 8.5, 9.0), (50.0, 100.0, 100.0, 50.0))
_DO_SAT: Final = (
    (20.0, 50.0, 75.0, 88.0, 112.0, 125.0, 150.0, 200.0),
    (25.0, 50.0, 75.0, 100.0, 100.0, 75.0, 50.0, 25.0),
)
_NO2_LIMIT: Final = 0.05


@dataclass(frozen=True, slots=True)
class Band:
    """A band of the index as display boards show it."""

    low: int
    name_vi: str
    name_en: str
    rgb: tuple[int, int, int]


BANDS: Final = (
    Band(91, "Rất tốt", "Very good", (51, 51, 255)),
    Band(76, "Tốt", "Good", (0, 228, 0)),
    Band(51, "Trung bình", "Medium", (255, 255, 0)),
    Band(26, "Kém", "Poor", (255, 126, 0)),
    Band(10, "Xấu", "Bad", (255, 0, 0)),
    Band(0, "Ô nhiễm rất nặng", "Very heavily polluted", (126, 0, 35)),
)


def band(wqi: int) -> Band:
    """Return the band of a (rounded) index value."""
    return next(b for b in BANDS if wqi >= b.low)


def do_saturation(do: FloatArray, temp: FloatArray) -> FloatArray:
    """DO as % of saturation, with the decision's fresh-water polynomial in temperature."""
    saturation = 14.652 - 0.41022 * temp + 0.0079910 * temp**2 - 0.000077774 * temp**3
    result: FloatArray = 100.0 * do / saturation
    return result


def _falling(
    values: FloatArray, points: tuple[float, ...], scores: tuple[float, ...]
) -> FloatArray:
    """Scores falling with the value: 100 up to the first breakpoint, 10 past the last.

    NaN (not measured) stays NaN, as it does through ``np.interp`` and comparisons.
    """
    index: FloatArray = np.interp(values, points, scores)
    return np.where(values > points[-1], OUTSIDE, index)


def _ranged(values: FloatArray, points: tuple[float, ...], scores: tuple[float, ...]) -> FloatArray:
    """Scores inside a range of breakpoints, 10 outside it."""
    index: FloatArray = np.interp(values, points, scores)
    return np.where((values < points[0]) | (values > points[-1]), OUTSIDE, index)


def sub_indices(values: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
    """Sub-index of each measured quantity (NaN where its value is NaN).

    Args:
        values: Arrays of one shape (one element per station) by parameter code; the
            codes used are ph, do with temp, bod5, cod, toc, nh4, no3, no2 and po4.
    """
    found: dict[str, FloatArray] = {}
    if "ph" in values:
        found["ph"] = _ranged(values["ph"], *_PH)
    if "do" in values and "temp" in values:
        found["do"] = _ranged(do_saturation(values["do"], values["temp"]), *_DO_SAT)
    for code, (points, scores) in _GROUP_IV.items():
        if code in values:
            found[code] = _falling(values[code], points, scores)
    if "no2" in values:
        no2 = values["no2"]
        found["no2"] = np.where(np.isnan(no2), np.nan, np.where(no2 <= _NO2_LIMIT, 100.0, OUTSIDE))
    return found


def vn_wqi(values: Mapping[str, FloatArray]) -> FloatArray:
    """VN_WQI of each station, rounded to a whole number, NaN where not computable."""
    indices = sub_indices(values)
    group_iv = [index for code, index in indices.items() if code != "ph"]
    if not group_iv:
        shape = np.shape(next(iter(values.values()))) if values else (0,)
        return np.full(shape, np.nan)
    stacked = np.vstack(group_iv)
    measured = np.sum(~np.isnan(stacked), axis=0)
    mean_iv = np.nansum(stacked, axis=0) / np.maximum(measured, 1)
    group_i = np.nan_to_num(indices.get("ph", np.full(measured.shape, 100.0)), nan=100.0)
    wqi: FloatArray = np.where(measured >= MIN_GROUP_IV, np.rint(group_i / 100.0 * mean_iv), np.nan)
    return wqi
