"""Trailing-window statistics on the engine's regular time grid (ranges, means, changes).

Every function is vectorised: arrays in, a float64 array out, NaN where an input is
missing. They work on the engine's layout, ``times`` (T,) epoch seconds on
a regular grid shared by every row and ``values`` (S, T) with one row per series. They
are vectorised across rows and, given ``last``, compute only the newest columns, which is
what an engine tick needs.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Relative tolerance for "the grid is regular" and for converting durations to samples.
_EPS: Final = 1e-6


def grid_step(times: npt.ArrayLike) -> float:
    """Return the spacing of a regular, strictly increasing time grid.

    Args:
        times: Epoch seconds, shape (T,).

    Returns:
        The step in seconds; ``inf`` for fewer than two samples (every window is then
        one sample long).

    Raises:
        ValueError: ``times`` is not 1-D, not strictly increasing or not evenly spaced.
    """
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1:
        msg = f"times must be 1-D, got shape {t.shape}"
        raise ValueError(msg)
    if t.size < 2:
        return float("inf")
    steps = np.diff(t)
    step = float(steps[0])
    # |steps - step| <= rtol·step, as np.allclose(steps, step, rtol, atol=0) but cheaper:
    # every QC check of every tick asks.
    if step <= 0 or float(np.abs(steps - step).max()) > _EPS * step:
        msg = "times must be a strictly increasing regular grid (the engine's sampling grid)"
        raise ValueError(msg)
    return step


def window_samples(step: float, seconds: float) -> int:
    """Samples in a trailing window ``(t - seconds, t]`` on a grid of ``step`` seconds.

    The grid instants ``t - k·step`` inside it are those with ``k·step < seconds``: as many
    as ``seconds / step`` rounded up (a 44 712 s tidal cycle at 300 s holds 150, not 149).
    """
    if not np.isfinite(step):
        return 1
    return max(1, int(np.ceil(seconds / step - _EPS)))


def run_samples(step: float, seconds: float) -> int:
    """Samples in a run whose first and last sample are at least ``seconds`` apart."""
    if not np.isfinite(step):
        return 1
    return int(np.ceil(seconds / step - _EPS)) + 1


def _tail(last: int | None, length: int) -> int:
    """How many of ``length`` columns to return for ``last`` (None: all)."""
    return length if last is None else min(max(last, 0), length)


def _rolling(
    values: npt.ArrayLike, window: int, last: int | None, op: np.ufunc, *, fill: float = np.nan
) -> FloatArray:
    """Trailing ``op``-reduction (fmax/fmin: NaN ignored) over ``window`` samples.

    Returns the last ``last`` columns (all if None), vectorised across rows. When no more
    columns than the window are wanted, all their windows share a core, reduced once; each
    window adds the core's running ``op`` with a prefix and a suffix (S·(w + 2n) work).
    Otherwise by doubling: windows of 1, 2, 4 … samples, each the ``op`` of two halves,
    the result the ``op`` of two overlapping power-of-two windows (S·(n + w)·log2 w).
    """
    x = _as_2d(values)
    rows, length = x.shape
    n, w = _tail(last, length), max(1, window)
    if n == 0:
        return np.empty((rows, 0))
    if n <= w:
        need = n + w - 1  # window j covers part[j : j + w]; all cover part[n - 1 : w]
        part = x[:, max(0, length - need) :]
        if part.shape[1] < need:  # windows that reach back before the data
            part = np.concatenate([np.full((rows, need - part.shape[1]), fill), part], axis=1)
        result = np.repeat(op.reduce(part[:, n - 1 : w], axis=1, keepdims=True), n, axis=1)
        if n > 1:
            before = op.accumulate(part[:, n - 2 :: -1], axis=1)[:, ::-1]  # part[j : n - 1]
            after = op.accumulate(part[:, w:], axis=1)  # part[w : w + j]
            op(result[:, :-1], before, out=result[:, :-1])
            op(result[:, 1:], after, out=result[:, 1:])
        return result
    cur = x[:, max(0, length - n - w + 1) :]
    size = cur.shape[1]
    buffers = (np.empty_like(cur), np.empty_like(cur))  # ping-pong: no fresh pages per level
    span = 1
    while span * 2 <= w:
        nxt = buffers[span.bit_length() % 2]
        nxt[:, :span] = cur[:, :span]
        op(cur[:, span:], cur[:, :-span], out=nxt[:, span:])
        cur, span = nxt, span * 2
    # The window is two overlapping power-of-two windows, ending at c and at c - rest;
    # before column ``rest`` the first one already covers everything back to the start.
    rest = w - span
    out = cur[:, size - n :].copy()
    if rest:
        first = max(size - n, rest)
        tail = out[:, first - (size - n) :]
        op(tail, cur[:, first - rest : size - rest], out=tail)
    return out


def rolling_max(values: npt.ArrayLike, *, window: int, last: int | None = None) -> FloatArray:
    """Maximum over each sample's trailing ``window`` samples (itself included).

    NaN samples are ignored; the result is NaN where the window holds no valid sample.

    Args:
        values: (S, T) series.
        window: Window length in samples.
        last: Return only the newest ``last`` columns (S, last); None for all (S, T).
    """
    return _rolling(values, window, last, np.fmax)


def rolling_min(values: npt.ArrayLike, *, window: int, last: int | None = None) -> FloatArray:
    """Minimum over each sample's trailing ``window`` samples; see :func:`rolling_max`."""
    return _rolling(values, window, last, np.fmin)


def rolling_count(
    values: npt.ArrayLike, *, window: int, last: int | None = None
) -> npt.NDArray[np.int64]:
    """Number of valid (non-NaN) samples in each sample's trailing ``window`` samples."""
    x = _as_2d(values)
    n, w = _tail(last, x.shape[1]), max(1, window)
    if n <= w:  # the shared-core sum of _rolling; exact for counts
        present = (~np.isnan(x[:, max(0, x.shape[1] - n - w) :])).astype(np.float64)
        return _rolling(present, w, n, np.add, fill=0.0).astype(np.int64)
    part = x[:, max(0, x.shape[1] - n - w) :]
    csum = np.cumsum(~np.isnan(part), axis=1, dtype=np.int64)
    lagged = np.zeros_like(csum)
    lagged[:, w:] = csum[:, :-w]
    result: npt.NDArray[np.int64] = (csum - lagged)[:, csum.shape[1] - n :]
    return result


def window_range(
    values: npt.ArrayLike, *, window: int, min_count: int, end: int, n: int
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Range of the ``n`` trailing windows ending at columns ``end - n`` … ``end - 1``.

    Args:
        values: (S, T) series.
        window: Window length in samples.
        min_count: Fewest valid samples for a window to count.
        end: One past the column of the newest window's end (may be ≤ 0: none).
        n: How many windows.

    Returns:
        ``(range, enough)``, both (S, n): a window is ``enough`` when it lies inside the
        data, holds at least ``min_count`` samples and its own newest sample is present.
    """
    x = _as_2d(values)
    rows = x.shape[0]
    spread = np.full((rows, n), np.nan)
    enough = np.zeros((rows, n), dtype=bool)
    k = min(n, max(end, 0))
    if k == 0:
        return spread, enough
    part = x[:, :end]
    high, low = rolling_max(part, window=window, last=k), rolling_min(part, window=window, last=k)
    spread[:, n - k :] = high - low
    enough[:, n - k :] = (
        (rolling_count(part, window=window, last=k) >= min_count)
        & (np.arange(end - k, end) >= window - 1)
        & ~np.isnan(part[:, end - k :])
    )
    return spread, enough


def nan_median(stack: npt.ArrayLike) -> FloatArray:
    """Median over axis 0 ignoring NaN (NaN where all are NaN), without warnings."""
    a = np.asarray(stack, dtype=np.float64)
    ordered = np.sort(a, axis=0)  # NaN sorts last
    count = (~np.isnan(a)).sum(axis=0)
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[np.newaxis], axis=0)[0]
    high = np.take_along_axis(ordered, np.maximum(count // 2, 0)[np.newaxis], axis=0)[0]
    result: FloatArray = np.where(count > 0, 0.5 * (low + high), np.nan)
    return result


def _as_2d(values: npt.ArrayLike) -> FloatArray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2:
        msg = f"values must be 2-D (series, time), got shape {x.shape}"
        raise ValueError(msg)
    return x


def daily_range(
    values: npt.ArrayLike,
    times: npt.ArrayLike,
    *,
    window_s: float = 86_400.0,
    last: int | None = None,
) -> FloatArray:
    """Max - min over each sample's trailing 24 h (the daily pH swing, the temperature range).

    A trailing window rather than the local calendar day: the continuous-monitoring
    reading of "daily swing ≤ 0.5", it does not reset at midnight (when pH is falling
    through the night), and needs no time zone. Missing samples are ignored; the range of
    a partly filled window is a lower bound of the true one, so an exceedance found on it
    is real.

    Args:
        values: (S, T) series.
        times: (T,) regular epoch-second grid.
        window_s: Window length in seconds.
        last: Return only the newest ``last`` columns (None: all).

    Returns:
        (S, T) or (S, last) ranges; NaN where the sample itself is missing.
    """
    x, current, w, n = _windowed(values, times, window_s, last)
    result = rolling_max(x, window=w, last=n) - rolling_min(x, window=w, last=n)
    result[np.isnan(current)] = np.nan
    return result


def fall_since(
    values: npt.ArrayLike,
    times: npt.ArrayLike,
    *,
    lag_s: float = 86_400.0,
    mean_s: float = 3600.0,
    last: int | None = None,
) -> FloatArray:
    """How far each sample's trailing mean lies below the same mean ``lag_s`` earlier.

    For the 24-hour salinity change: comparing the same time of day cancels most of a
    diurnal tide (the Gulf of Thailand's is mostly diurnal), which a fall from the 24-h
    maximum would count as a fall every day. Negative when the series rose.

    Args:
        values: (S, T) series.
        times: (T,) regular epoch-second grid.
        lag_s: How far back to compare.
        mean_s: Length of the trailing means (missing samples ignored).
        last: Return only the newest ``last`` columns (None: all).

    Returns:
        ``mean(t - lag_s) - mean(t)``, (S, T) or (S, last); NaN where the sample is
        missing or either mean has no sample.
    """
    x = _as_2d(values)
    step = grid_step(times)
    length = x.shape[1]
    n = _tail(last, length)
    lag = round(lag_s / step) if np.isfinite(step) else length
    width = window_samples(step, mean_s)
    result = np.full((x.shape[0], n), np.nan)
    first = max(0, n + lag - length)  # newest columns with no column a lag earlier
    if first < n:
        now = trailing_means(x, width, n - first)
        ago = trailing_means(x[:, : length - lag], width, n - first)
        result[:, first:] = ago - now
    result[np.isnan(x[:, length - n :])] = np.nan
    return result


def trailing_means(x: FloatArray, width: int, n: int) -> FloatArray:
    """Means of the trailing ``width`` samples (NaN ignored) at the last ``n`` columns.

    Only the ``width + n - 1`` columns they read are summed.
    """
    part = x[:, max(0, x.shape[1] - n - width + 1) :]
    present = ~np.isnan(part)
    sums = np.cumsum(np.pad(np.where(present, part, 0.0), ((0, 0), (width, 0))), axis=1)
    counts = np.cumsum(np.pad(present.astype(np.float64), ((0, 0), (width, 0))), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: FloatArray = (sums[:, width:] - sums[:, :-width]) / (
            counts[:, width:] - counts[:, :-width]
        )
    return mean[:, -n:]


def change_over(
    values: npt.ArrayLike,
    times: npt.ArrayLike,
    *,
    window_s: float = 3 * 3600.0,
    last: int | None = None,
) -> FloatArray:
    """How far each sample lies from the farther extreme of its trailing window (≥ 0).

    A temperature shock either way: how far it rose from the window's minimum or fell
    from its maximum.

    Args:
        values: (S, T) series.
        times: (T,) regular epoch-second grid.
        window_s: Window length in seconds.
        last: Return only the newest ``last`` columns (None: all).

    Returns:
        ``max(value - min(window), max(window) - value)``, (S, T) or (S, last).
    """
    x, current, w, n = _windowed(values, times, window_s, last)
    result: FloatArray = np.fmax(
        current - rolling_min(x, window=w, last=n), rolling_max(x, window=w, last=n) - current
    )
    result[np.isnan(current)] = np.nan
    return result


def _windowed(
    values: npt.ArrayLike, times: npt.ArrayLike, window_s: float, last: int | None
) -> tuple[FloatArray, FloatArray, int, int]:
    """The series, its newest columns, the window in samples and how many columns."""
    x = _as_2d(values)
    n = _tail(last, x.shape[1])
    return x, x[:, x.shape[1] - n :], window_samples(grid_step(times), window_s), n
