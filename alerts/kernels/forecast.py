"""Dawn dissolved-oxygen projection: will the pond reach a critical DO before sunrise?

Pond DO falls all night and is lowest just before dawn. Boyd, Romaire & Johnston (1978)
measured DO at dusk and a few hours later and extended the line to dawn; Madenjian et al.
(1987) found a log-linear (exponential) decline more accurate. With continuous sensors
both are fitted over every sample since sunset and the lower projection is used, which
warns hours before the crash (REFERENCE §4).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def _masked_line(
    tau: FloatArray, y: FloatArray, mask: npt.NDArray[np.bool_], at: FloatArray, min_points: int
) -> FloatArray:
    """Least-squares ``y = a + b·tau`` per row over ``mask``, evaluated at ``at`` (S,).

    Closed form from masked sums, so every row is fitted at once; NaN where a row has
    fewer than ``min_points`` samples or all of them at one time.
    """
    w = mask.astype(np.float64)
    t = np.where(mask, tau, 0.0)
    v = np.where(mask, y, 0.0)
    n = w.sum(axis=1)
    st, sv = t.sum(axis=1), v.sum(axis=1)
    stt, stv = (t * t).sum(axis=1), (t * v).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        denominator = n * stt - st * st
        slope = (n * stv - st * sv) / denominator
        intercept = (sv - slope * st) / n
        result: FloatArray = np.where(
            (n >= min_points) & (denominator > 0), intercept + slope * at, np.nan
        )
    return result


def dawn_do_projection(
    times: npt.ArrayLike,
    do_values: npt.ArrayLike,
    *,
    sunset: npt.ArrayLike,
    sunrise: npt.ArrayLike,
    now: float,
    min_points: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Project each row's DO to sunrise from the samples since sunset.

    A linear model ``DO = a + b·t`` and a log-linear model ``ln DO = a + b·t`` (only
    positive DO) are fitted by least squares over each row's valid samples with
    ``sunset <= t <= min(now, sunrise)`` and evaluated at ``sunrise``. The linear
    projection is clipped at 0 mg/L.

    Args:
        times: (T,) epoch seconds, strictly increasing.
        do_values: (S, T) DO in mg/L, NaN where missing.
        sunset: (S,) epoch second of this evening's sunset per row.
        sunrise: (S,) epoch second of the next sunrise per row.
        now: Current epoch second; later samples are ignored.
        min_points: Fewest samples a fit needs (at least 2), else NaN.

    Returns:
        ``(linear, loglinear, projected)``, each (S,) mg/L at sunrise; ``projected`` is
        the lower of the two (either alone when the other is NaN), NaN if neither fits.

    Raises:
        ValueError: ``min_points`` is below 2 or the shapes disagree.
    """
    if min_points < 2:  # a line needs two points
        msg = f"min_points must be at least 2, got {min_points}"
        raise ValueError(msg)
    t = np.asarray(times, dtype=np.float64)
    y = np.asarray(do_values, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] != t.shape[0]:
        msg = f"do_values must be (S, {t.shape[0]}), got {y.shape}"
        raise ValueError(msg)
    start = np.broadcast_to(np.asarray(sunset, dtype=np.float64), (y.shape[0],))
    dawn = np.broadcast_to(np.asarray(sunrise, dtype=np.float64), (y.shape[0],))
    # Hours since sunset keep the sums well conditioned.
    tau = (t[np.newaxis, :] - start[:, np.newaxis]) / 3600.0
    at = (dawn - start) / 3600.0
    window = (
        ~np.isnan(y)
        & (t[np.newaxis, :] >= start[:, np.newaxis])
        & (t[np.newaxis, :] <= np.minimum(now, dawn)[:, np.newaxis])
    )
    linear = np.maximum(_masked_line(tau, y, window, at, min_points), 0.0)
    positive = window & (y > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_y = np.log(np.where(positive, y, 1.0))
    loglinear = np.exp(_masked_line(tau, log_y, positive, at, min_points))
    projected: FloatArray = np.fmin(linear, loglinear)
    return linear, loglinear, projected


def dawn_do_projections(
    times: npt.ArrayLike,
    do_values: npt.ArrayLike,
    *,
    sunset: npt.ArrayLike,
    sunrise: npt.ArrayLike,
    instants: npt.ArrayLike,
    min_points: int,
) -> tuple[FloatArray, FloatArray]:
    """:func:`dawn_do_projection` as it stood at each of several instants, at once.

    The fits' sums are accumulated along time, so K instants cost one pass over the
    samples instead of K.

    Args:
        times: (T,) epoch seconds, strictly increasing.
        do_values: (S, T) DO in mg/L, NaN where missing.
        sunset: (S,) this evening's sunset per row.
        sunrise: (S,) the next sunrise per row.
        instants: (K,) the ``now`` of each projection, increasing.
        min_points: Fewest samples a fit needs (at least 2), else NaN.

    Returns:
        ``(linear, loglinear)``, each (K, S) mg/L at sunrise.
    """
    if min_points < 2:
        msg = f"min_points must be at least 2, got {min_points}"
        raise ValueError(msg)
    t = np.asarray(times, dtype=np.float64)
    y = np.asarray(do_values, dtype=np.float64)
    at_k = np.asarray(instants, dtype=np.float64)
    rows = y.shape[0]
    start = np.broadcast_to(np.asarray(sunset, dtype=np.float64), (rows,))
    dawn = np.broadcast_to(np.asarray(sunrise, dtype=np.float64), (rows,))
    tau = (t[np.newaxis, :] - start[:, np.newaxis]) / 3600.0
    at = ((dawn - start) / 3600.0)[np.newaxis, :]
    inside = ~np.isnan(y) & (t[np.newaxis, :] >= start[:, np.newaxis])
    inside &= t[np.newaxis, :] <= dawn[:, np.newaxis]
    # The newest sample at or before each instant.
    last = np.searchsorted(t, at_k, side="right") - 1

    def fits(mask: npt.NDArray[np.bool_], v: FloatArray) -> FloatArray:
        w = mask.astype(np.float64)
        x = np.where(mask, tau, 0.0)
        z = np.where(mask, v, 0.0)
        sums = [np.cumsum(a, axis=1) for a in (w, x, z, x * x, x * z)]
        n, st, sv, stt, stv = (
            np.where(last[:, None] >= 0, s[:, np.maximum(last, 0)].T, 0.0) for s in sums
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            denominator = n * stt - st * st
            slope = (n * stv - st * sv) / denominator
            intercept = (sv - slope * st) / n
            result: FloatArray = np.where(
                (n >= min_points) & (denominator > 0), intercept + slope * at, np.nan
            )
        return result

    linear = np.maximum(fits(inside, y), 0.0)
    positive = inside & (y > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_y = np.log(np.where(positive, y, 1.0))
    loglinear: FloatArray = np.exp(fits(positive, log_y))
    return linear, loglinear
