"""Disease risk: a composite 0-100 stress score per shrimp or cage station.

Outbreaks in brackish shrimp ponds and fish cages follow stress more often than they come
from nowhere: nights of low oxygen, toxic un-ionized ammonia, and sudden pH, salinity or
temperature changes (rain, floods) weaken the stock and its moulting. The score adds five
such stress factors over the trailing 24 hours, each scaled to 0-1 and weighted:

=============  ===========================================  ======  =====================
factor         input (trailing 24 h)                        weight  stress 0 → 1
=============  ===========================================  ======  =====================
``do_low``     hours with DO below the species threshold    30      0 h → ``do_hours_full``
``nh3``        highest un-ionized ammonia / its limit       25      ratio 0.5 → 1.5
``ph_swing``   pH range / 0.5                               15      ratio 0.5 → 1.5
``sal_swing``  salinity change since this hour yesterday    15      ratio 0.5 → 1.5
               (1-h means, either way) / 5 ‰
``temp``       °C beyond the optimum (28-32 °C white-leg;   15      0 → ``temp_full_scale``
               20-33 °C cage ladder), at the 24 h extremes
=============  ===========================================  ======  =====================

``score = Σ weight * clip(stress, 0, 1)``. A ratio factor is 0 up to half its limit, 0.5 at
the limit and full at 1.5 times it: a value at the limit is already a real stress, and the
ramp avoids a cliff at the limit itself. No factor alone reaches the profiles' advisory
tier of 40 (the largest weight is 30): each factor already has its own threshold alert, and
the risk alert is about stresses acting together, which is what makes an outbreak likely.

Why these weights (an ENGINEERING CHOICE, to be calibrated against outbreak records of the
provincial fisheries department): low oxygen is the commonest acute killer and, sustained at
night, the strongest everyday stressor, so it weighs most; un-ionized ammonia is directly
toxic to gills and suppresses immunity; the pH and salinity swings are the classic moulting
triggers after rain; temperature outside the optimum slows growth and immunity but changes
slowly. The numbers live in each profile's ``risk:`` block (alerts/config/profiles/*.yaml), so
officers can recalibrate without code changes; the defaults of :class:`RiskConfig` are the
values documented here.

A factor whose input is missing (the station does not measure it, or no usable data in
24 h) contributes 0 and is reported as unavailable; the score is not rescaled, because a
missing measurement is no evidence of stress. With no factor available the score is NaN.
The salinity factor is the tide-cancelling 24-hour change that ``shrimp.sal.drop`` judges
(:func:`salinity_change`): the mean of the last hour against the same hour yesterday. The
Gulf of Thailand's tide is mostly diurnal, so the range over 24 h would count the tide as
a swing every day on a tidal river; the same hour a day apart cancels most of it and keeps
what rain or a flood changed. A rise counts as much as a fall (a sudden change either way
stresses the stock's osmoregulation).

:meth:`RiskInputs.from_window` summarises one 24-h window per station (the score now). The
risk alert (rule ``*.disease_risk.high``, quantity ``risk_score``) needs a score series for
the threshold evaluator: build :class:`RiskInputs` of (S, T) arrays from trailing-24-h
rolling statistics at every grid instant (rolling max / min; rolling count of samples with
DO below the threshold times the sampling interval) and call :func:`disease_risk` once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from alerts.kernels import rolling

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class RiskFactor(IntEnum):
    """The stress factors, in the column order of :attr:`RiskResult.contributions`."""

    DO_LOW = 0
    NH3 = 1
    PH_SWING = 2
    SAL_SWING = 3
    TEMP = 4

    @property
    def key(self) -> str:
        """The factor's name in profiles and alert details (``do_low`` ...)."""
        return self.name.lower()

    @property
    def label_vi(self) -> str:
        """Vietnamese label for messages."""
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        """English label for messages."""
        return _LABELS[self][1]


_LABELS: Final = {
    RiskFactor.DO_LOW: ("oxy hòa tan thấp kéo dài", "long hours of low dissolved oxygen"),
    RiskFactor.NH3: ("khí amoniac (NH3) cao", "high un-ionized ammonia"),
    RiskFactor.PH_SWING: ("pH dao động mạnh", "large pH swing"),
    RiskFactor.SAL_SWING: ("độ mặn thay đổi mạnh", "large salinity change"),
    RiskFactor.TEMP: ("nhiệt độ ngoài khoảng tối ưu", "temperature outside the optimum"),
}

DEFAULT_WEIGHTS: Final = (30.0, 25.0, 15.0, 15.0, 15.0)
"""Weights of do_low, nh3, ph_swing, sal_swing, temp (sum 100)."""

# A ratio factor's stress ramps from 0 at RATIO_ZERO x limit to 1 at RATIO_FULL x limit.
RATIO_ZERO: Final = 0.5
RATIO_FULL: Final = 1.5


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """One station's risk settings, compiled from its profile's ``risk:`` block.

    Attributes:
        do_threshold: DO (mg/L) below which hours count as low-oxygen stress.
        nh3_limit: Un-ionized ammonia (mg/L) counted as "at the limit".
        temp_low: Lower end of the optimum temperature (°C).
        temp_high: Upper end of the optimum temperature (°C).
        do_hours_full: Hours below ``do_threshold`` in 24 h that give the full DO factor.
        ph_swing_limit: pH range in 24 h counted as "at the limit".
        sal_swing_limit: Salinity change (‰) since the same hour yesterday counted as
            "at the limit".
        temp_full_scale: Degrees beyond the optimum that give the full temperature factor.
        weights: Points of each factor, in :class:`RiskFactor` order.
        source: Where the settings come from.
        verify: The settings are not confirmed (true while uncalibrated).
    """

    do_threshold: float
    nh3_limit: float
    temp_low: float
    temp_high: float
    do_hours_full: float = 6.0
    ph_swing_limit: float = 0.5
    sal_swing_limit: float = 5.0
    temp_full_scale: float = 3.0
    weights: tuple[float, float, float, float, float] = DEFAULT_WEIGHTS
    source: str = "AquaWatch composite disease-risk score (engineering choice)"
    verify: bool = True


@dataclass(frozen=True, slots=True)
class RiskParams:
    """Risk settings of S stations as arrays (one row per station), built once."""

    do_threshold: FloatArray
    do_hours_full: FloatArray
    nh3_limit: FloatArray
    ph_swing_limit: FloatArray
    sal_swing_limit: FloatArray
    temp_low: FloatArray
    temp_high: FloatArray
    temp_full_scale: FloatArray
    weights: FloatArray  # (S, 5)

    @classmethod
    def from_configs(cls, configs: Sequence[RiskConfig]) -> RiskParams:
        """Stack per-station settings into arrays, in the given order."""

        def column(name: str) -> FloatArray:
            return np.array([getattr(c, name) for c in configs], dtype=np.float64)

        return cls(
            do_threshold=column("do_threshold"),
            do_hours_full=column("do_hours_full"),
            nh3_limit=column("nh3_limit"),
            ph_swing_limit=column("ph_swing_limit"),
            sal_swing_limit=column("sal_swing_limit"),
            temp_low=column("temp_low"),
            temp_high=column("temp_high"),
            temp_full_scale=column("temp_full_scale"),
            weights=np.array([c.weights for c in configs], dtype=np.float64).reshape(-1, 5),
        )

    def __len__(self) -> int:
        return len(self.do_threshold)


@dataclass(frozen=True, slots=True)
class RiskInputs:
    """The trailing-24-h summaries of S stations; NaN where a factor cannot be computed."""

    do_hours_below: FloatArray
    nh3_max: FloatArray
    ph_swing: FloatArray
    sal_swing: FloatArray  # the 24-h change, see salinity_change
    temp_min: FloatArray
    temp_max: FloatArray

    @classmethod
    def from_window(
        cls,
        *,
        do: npt.ArrayLike,
        nh3: npt.ArrayLike,
        ph: npt.ArrayLike,
        sal_change: npt.ArrayLike,
        temp: npt.ArrayLike,
        params: RiskParams,
        interval_s: npt.ArrayLike,
    ) -> RiskInputs:
        """Summarise 24-h windows, each series shaped (S, T), NaN = missing.

        Args:
            do: Dissolved oxygen, mg/L.
            nh3: Un-ionized ammonia, mg/L (all NaN where the station cannot derive it).
            ph: pH.
            sal_change: The salinity change since this hour yesterday, ‰, (S,): from
                :func:`salinity_change`, which needs more than the 24 h.
            temp: Temperature, °C.
            params: The stations' settings (for the DO threshold).
            interval_s: Sampling interval of each station (S,) or of all, seconds.
        """
        lowest, highest = _extremes(temp)
        return cls(
            do_hours_below=hours_below(do, threshold=params.do_threshold, interval_s=interval_s),
            nh3_max=_extremes(nh3)[1],
            ph_swing=_range(ph),
            sal_swing=np.asarray(sal_change, dtype=np.float64),
            temp_min=lowest,
            temp_max=highest,
        )


@dataclass(frozen=True, slots=True)
class RiskResult:
    """Scores of S stations and what made them.

    Attributes:
        score: 0-100 per station (and instant), NaN when no factor was available.
        contributions: Points of each factor (last axis, 5), in :class:`RiskFactor` order.
        available: Whether each factor had data (same shape as ``contributions``).
    """

    score: FloatArray
    contributions: FloatArray
    available: BoolArray

    def drivers(self, *, min_points: float = 5.0) -> BoolArray:
        """The factors that drove each score: those worth at least ``min_points``."""
        result: BoolArray = self.contributions >= min_points
        return result


def hours_below(
    values: npt.ArrayLike, *, threshold: npt.ArrayLike, interval_s: npt.ArrayLike
) -> FloatArray:
    """Hours each row spent below its threshold: samples below x sampling interval.

    Args:
        values: (S, T), NaN = missing (not counted either way).
        threshold: (S,) or scalar.
        interval_s: (S,) or scalar sampling interval, seconds.

    Returns:
        (S,) hours; NaN for a row without any valid sample.
    """
    x = np.asarray(values, dtype=np.float64)
    limit = np.asarray(threshold, dtype=np.float64).reshape(-1, 1)
    below = np.count_nonzero(x < limit, axis=1)
    valid = np.count_nonzero(~np.isnan(x), axis=1)
    hours = below * np.asarray(interval_s, dtype=np.float64) / 3600.0
    result: FloatArray = np.where(valid > 0, hours, np.nan)
    return result


def salinity_change(
    sal: npt.ArrayLike,
    times: npt.ArrayLike,
    *,
    lag_s: float = 86_400.0,
    mean_s: float = 3_600.0,
) -> FloatArray:
    """How far salinity changed since the same time yesterday, either way, at the newest column.

    The mean of the trailing ``mean_s`` against the same mean ``lag_s`` earlier, as
    ``shrimp.sal.drop`` compares them (:func:`rolling.fall_since`), but without needing the
    newest sample itself: a tick that runs before its reading arrived still has the hour.

    Args:
        sal: (S, T) salinity, ‰, NaN = missing, on the regular grid ``times``.
        times: (T,) epoch seconds.
        lag_s: How far back to compare.
        mean_s: Length of the means (missing samples ignored).

    Returns:
        (S,) absolute change, ‰; NaN where either hour has no sample or the series is
        shorter than ``lag_s`` plus one mean.
    """
    x = np.asarray(sal, dtype=np.float64)
    step = rolling.grid_step(times)
    width = rolling.window_samples(step, mean_s)
    lag = round(lag_s / step) if np.isfinite(step) else x.shape[1]
    if x.shape[1] < lag + width:
        return np.full(x.shape[0], np.nan)
    now = rolling.trailing_means(x, width, 1)[:, 0]
    ago = rolling.trailing_means(x[:, : x.shape[1] - lag], width, 1)[:, 0]
    result: FloatArray = np.abs(now - ago)
    return result


def _extremes(values: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Row minimum and maximum ignoring NaN; NaN for an all-missing row (no warning)."""
    x = np.asarray(values, dtype=np.float64)
    if x.shape[-1] == 0:
        empty = np.full(x.shape[:-1], np.nan)
        return empty, empty.copy()
    lowest: FloatArray = np.fmin.reduce(x, axis=-1)
    highest: FloatArray = np.fmax.reduce(x, axis=-1)
    return lowest, highest


def _range(values: npt.ArrayLike) -> FloatArray:
    lowest, highest = _extremes(values)
    return highest - lowest


def _ramp(ratio: FloatArray) -> FloatArray:
    result: FloatArray = np.clip((ratio - RATIO_ZERO) / (RATIO_FULL - RATIO_ZERO), 0.0, 1.0)
    return result


def disease_risk(inputs: RiskInputs, *, params: RiskParams) -> RiskResult:
    """Score S stations at once, at one instant (inputs (S,)) or along a series ((S, T)).

    Args:
        inputs: Their trailing-24-h summaries, (S,) or (S, T) each; for a score series
            (what the threshold evaluator needs for the risk alert) pass trailing-24-h
            rolling summaries at every grid instant.
        params: Their settings, in the same row order.

    Returns:
        The scores, each factor's points (last axis) and which factors had data.
    """
    extra = (1,) * (np.ndim(inputs.do_hours_below) - 1)

    def row(values: FloatArray) -> FloatArray:
        return values.reshape(values.shape + extra)

    above = np.maximum(inputs.temp_max - row(params.temp_high), 0.0)
    below = np.maximum(row(params.temp_low) - inputs.temp_min, 0.0)
    stress = np.stack(
        [
            np.clip(inputs.do_hours_below / row(params.do_hours_full), 0.0, 1.0),
            _ramp(inputs.nh3_max / row(params.nh3_limit)),
            _ramp(inputs.ph_swing / row(params.ph_swing_limit)),
            _ramp(inputs.sal_swing / row(params.sal_swing_limit)),
            np.clip(np.maximum(above, below) / row(params.temp_full_scale), 0.0, 1.0),
        ],
        axis=-1,
    )
    weights = params.weights.reshape((len(params), *extra, len(RiskFactor)))
    available = ~np.isnan(stress)
    contributions = np.where(available, stress * weights, 0.0)
    score = np.where(available.any(axis=-1), contributions.sum(axis=-1), np.nan)
    return RiskResult(score=score, contributions=contributions, available=available)
