"""QARTOD data-quality tests (IOOS conventions), vectorised over many series at once.

Layout shared with the engine: ``values`` is float64 (S, T), one row per series (a
station and parameter), NaN where no sample; ``times`` is float64 (T,) epoch seconds,
strictly increasing and shared by all rows (a regular grid for the windowed tests). Each
test returns a uint8 (S, T) array of :class:`telemetry.QCFlag` values. Limits are scalars
or (S,) arrays, one per row. A sample a test cannot judge (no neighbour, too little
history) is UNKNOWN; a missing sample is MISSING. Combine tests with
:func:`telemetry.worst`.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from alerts.kernels.rolling import (
    grid_step,
    nan_median,
    rolling_max,
    rolling_min,
    run_samples,
    window_range,
    window_samples,
)
from telemetry import QCFlag

Flags = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]
Limit = float | npt.ArrayLike

_GOOD: Final = np.uint8(QCFlag.GOOD)
_UNKNOWN: Final = np.uint8(QCFlag.UNKNOWN)
_SUSPECT: Final = np.uint8(QCFlag.SUSPECT)
_FAIL: Final = np.uint8(QCFlag.FAIL)
_MISSING: Final = np.uint8(QCFlag.MISSING)


def _values(values: npt.ArrayLike) -> FloatArray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2:
        msg = f"values must be 2-D (series, time), got shape {x.shape}"
        raise ValueError(msg)
    return x


def _per_row(limit: Limit, rows: int) -> FloatArray:
    """A scalar or (S,) limit as a column that broadcasts against (S, T)."""
    a = np.asarray(limit, dtype=np.float64)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.shape != (rows,):
        msg = f"a per-row limit must be a scalar or have shape ({rows},), got {a.shape}"
        raise ValueError(msg)
    return a.reshape(rows, 1)


def _grade(
    x: FloatArray, evaluable: npt.NDArray[np.bool_], suspect: npt.ArrayLike, fail: npt.ArrayLike
) -> Flags:
    """MISSING for NaN, UNKNOWN where not evaluable, else FAIL > SUSPECT > GOOD."""
    flags = np.where(evaluable, _GOOD, _UNKNOWN).astype(np.uint8)
    flags[evaluable & np.asarray(suspect, dtype=bool)] = _SUSPECT
    flags[evaluable & np.asarray(fail, dtype=bool)] = _FAIL
    flags[np.isnan(x)] = _MISSING
    return flags


def gross_range(
    values: npt.ArrayLike,
    *,
    fail_low: Limit,
    fail_high: Limit,
    suspect_low: Limit | None = None,
    suspect_high: Limit | None = None,
) -> Flags:
    """Gross range test: FAIL outside the sensor span, SUSPECT outside the operator span.

    Bounds are inclusive (a value equal to a bound is inside). Omitted suspect bounds
    mean no operator span.

    Args:
        values: (S, T) samples.
        fail_low: Lower end of the sensor span (scalar or per row).
        fail_high: Upper end of the sensor span.
        suspect_low: Lower end of the operator span, or None.
        suspect_high: Upper end of the operator span, or None.

    Returns:
        (S, T) flags: GOOD, SUSPECT, FAIL or MISSING.
    """
    x = _values(values)
    rows = x.shape[0]
    lo_s = _per_row(-np.inf if suspect_low is None else suspect_low, rows)
    hi_s = _per_row(np.inf if suspect_high is None else suspect_high, rows)
    with np.errstate(invalid="ignore"):
        fail = (x < _per_row(fail_low, rows)) | (x > _per_row(fail_high, rows))
        suspect = (x < lo_s) | (x > hi_s)
    return _grade(x, np.ones(x.shape, dtype=bool), suspect, fail)


def spike(
    values: npt.ArrayLike,
    times: npt.ArrayLike | None = None,
    *,
    suspect: Limit,
    fail: Limit | None = None,
    max_gap_s: float | None = None,
    longest: int = 1,
) -> Flags:
    """Spike test (QARTOD single-spike form): a sample far from its neighbours' mean.

    The reference of sample n is the mean of the sample after it and the most recent
    sample before it that *passed* (the manual's reference, built iteratively from passed
    points), so a spike several samples long, a stuck burst or a zig-zag is flagged sample
    by sample instead of hiding behind its own neighbours. A sample is flagged when both
    its deviation from that reference and its departure from the passed sample exceed the
    threshold: the good sample before a spike departs from nothing and is never flagged.

    Neighbours are the nearest valid samples, not grid cells, so a station that reports
    less often than its grid (617 s on a 300 s grid) is judged; a neighbour further than
    ``max_gap_s`` away does not count. The reference skips at most ``longest`` flagged
    samples: after that the previous sample is the reference again, so a real step in the
    signal flags at most ``longest + 1`` samples.

    Args:
        values: (S, T) samples.
        times: (T,) regular epoch-second grid; needed with ``max_gap_s``.
        suspect: Deviation above which a sample is SUSPECT (scalar or per row).
        fail: Deviation above which a sample is FAIL, or None.
        max_gap_s: Farthest a neighbour may be, seconds (None: any distance).
        longest: Most consecutive flagged samples the reference skips (a spike that long
            is caught whole).

    Returns:
        (S, T) flags. A sample with no neighbour on one side (the first, the newest until
        the next arrives, one beside a gap) is UNKNOWN.
    """
    x = _values(values)
    rows, length = x.shape
    reach = length
    if max_gap_s is not None:
        if times is None:
            msg = "max_gap_s needs the times"
            raise ValueError(msg)
        reach = window_samples(grid_step(times), max_gap_s + 1e-6 * max_gap_s)
    low = _per_row(suspect, rows)[:, 0] * np.ones(rows)
    high = np.full(rows, np.inf) if fail is None else _per_row(fail, rows)[:, 0] * np.ones(rows)
    valid = ~np.isnan(x)
    column = np.arange(length)
    # Nearest valid sample before and after each one (index, or -1 / length when none).
    before = np.maximum.accumulate(np.where(valid, column, -1), axis=1)
    previous = np.full((rows, length), -1, dtype=np.int64)
    previous[:, 1:] = before[:, :-1]
    after = np.minimum.accumulate(np.where(valid, column, length)[:, ::-1], axis=1)[:, ::-1]
    following = np.full((rows, length), length, dtype=np.int64)
    following[:, :-1] = after[:, 1:]
    has_next = (following < length) & (following - column <= reach)
    next_value = np.take_along_axis(x, np.minimum(following, length - 1), axis=1)
    flags = np.where(valid, _UNKNOWN, _MISSING).astype(np.uint8)

    # Every sample as if all before it passed (whole arrays); exact up to a row's first flag.
    earlier = np.take_along_axis(x, np.maximum(previous, 0), axis=1)
    judged = valid & has_next & (previous >= 0) & (column - previous <= reach)
    with np.errstate(invalid="ignore"):
        deviation = np.abs(x - 0.5 * (earlier + next_value))
        departure = np.abs(x - earlier)
        bad = judged & (deviation > low[:, None]) & (departure > low[:, None])
        worse = judged & (deviation > high[:, None]) & (departure > high[:, None])
    flags[judged] = _GOOD
    flags[bad] = _SUSPECT
    flags[worse] = _FAIL
    # Rows without a flag are done: all their samples passed, as assumed. The others are
    # judged again from their first flag on, carrying each row's last passed sample.
    rows_flagged = np.flatnonzero(bad.any(axis=1))
    if not rows_flagged.size:
        return flags
    sub = x[rows_flagged]
    sub_valid = valid[rows_flagged]
    sub_next, sub_has_next = next_value[rows_flagged], has_next[rows_flagged]
    low_r, high_r = low[rows_flagged], high[rows_flagged]
    first = int(np.argmax(bad[rows_flagged].any(axis=0)))
    passed_value = earlier[rows_flagged, first].copy()
    passed_at = previous[rows_flagged, first].copy()
    skipped = np.zeros(len(rows_flagged), dtype=np.int64)
    previous_value, previous_at = passed_value.copy(), passed_at.copy()
    for j in range(first, length):
        use_passed = skipped <= longest
        ref = np.where(use_passed, passed_value, previous_value)
        ref_at = np.where(use_passed, passed_at, previous_at)
        v, ok = sub[:, j], sub_valid[:, j]
        judged_j = ok & sub_has_next[:, j] & (ref_at >= 0) & (j - ref_at <= reach)
        with np.errstate(invalid="ignore"):
            deviation = np.abs(v - 0.5 * (ref + sub_next[:, j]))
            departure = np.abs(v - ref)
            bad_j = judged_j & (deviation > low_r) & (departure > low_r)
            worse_j = judged_j & (deviation > high_r) & (departure > high_r)
        unjudged = np.where(ok, _UNKNOWN, _MISSING)
        flags[rows_flagged, j] = np.where(
            judged_j, np.where(worse_j, _FAIL, np.where(bad_j, _SUSPECT, _GOOD)), unjudged
        )
        passes = ok & ~bad_j
        passed_value = np.where(passes, v, passed_value)
        passed_at = np.where(passes, j, passed_at)
        skipped = np.where(passes, 0, skipped + (ok & bad_j))
        previous_value = np.where(ok, v, previous_value)
        previous_at = np.where(ok, j, previous_at)
    return flags


def rate_of_change(
    values: npt.ArrayLike, times: npt.ArrayLike, *, suspect_per_hour: Limit
) -> Flags:
    """Rate-of-change test (suspect only, as QARTOD defines it).

    The rate is ``|Δx / Δt|`` per hour between each valid sample and the previous valid
    one, however far back it lies; the later sample carries the flag.

    Args:
        values: (S, T) samples.
        times: (T,) epoch seconds, strictly increasing (need not be regular).
        suspect_per_hour: Rate above which a sample is SUSPECT, in unit per hour.

    Returns:
        (S, T) flags: GOOD, SUSPECT, UNKNOWN for each series' first valid sample, MISSING.
    """
    x = _values(values)
    t = np.asarray(times, dtype=np.float64)
    valid = ~np.isnan(x)
    index = np.where(valid, np.arange(x.shape[1]), -1)
    last = np.maximum.accumulate(index, axis=1)
    previous = np.full(x.shape, -1, dtype=np.int64)
    previous[:, 1:] = last[:, :-1]
    evaluable = valid & (previous >= 0)
    safe = np.maximum(previous, 0)
    dx = x - np.take_along_axis(x, safe, axis=1)
    dt = t[np.newaxis, :] - t[safe]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.abs(dx) * 3600.0 / dt
        suspect = rate > _per_row(suspect_per_hour, x.shape[0])
    return _grade(x, evaluable, suspect, False)


def flat_line(
    values: npt.ArrayLike,
    times: npt.ArrayLike,
    *,
    tolerance: Limit,
    suspect_s: float,
    fail_s: float | None = None,
    last: int | None = None,
) -> Flags:
    """Flat-line test: a stuck sensor repeating (nearly) the same value.

    A sample is SUSPECT when it ends a run of at least ``suspect_s`` seconds (from the
    run's first sample to this one) whose values lie within ``tolerance`` of each other
    (max - min ≤ tolerance), FAIL likewise for ``fail_s``. The run must be observed at
    both ends: the sample ``suspect_s`` earlier must be present; missing samples inside
    the run are ignored. Too little history gives UNKNOWN.

    Args:
        values: (S, T) samples.
        times: (T,) regular epoch-second grid.
        tolerance: Largest max - min still counted as flat (scalar or per row).
        suspect_s: Run duration for SUSPECT, seconds.
        fail_s: Run duration for FAIL, seconds, or None.
        last: Flag only the newest ``last`` samples, the rest being history (None: all).

    Returns:
        (S, T) flags, or (S, last).
    """
    x = _values(values)
    rows, length = x.shape
    step = grid_step(times)
    n = length if last is None else min(max(last, 0), length)
    tol = np.broadcast_to(_per_row(tolerance, rows), (rows, 1))
    columns = np.arange(length - n, length)

    def observed(w: int) -> npt.NDArray[np.bool_]:
        """Whether the run of w samples ending at each column starts on a valid sample."""
        result = np.zeros((rows, n), dtype=bool)
        skip = max(0, w - 1 - (length - n))  # runs that would start before the data
        if w > 1 and skip < n:
            start = length - n + skip - (w - 1)
            result[:, skip:] = ~np.isnan(x[:, start : start + n - skip])
        return result

    def flat(w: int, where: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Whether the w-sample window ending at each candidate is within tolerance."""
        result = np.zeros((rows, n), dtype=bool)
        if w > length:
            return result
        r, j = np.nonzero(where & (columns >= w - 1))
        if r.size * w > 4 * rows * (n + w) * w.bit_length():  # many stuck: roll instead
            spread = rolling_max(x, window=w, last=n) - rolling_min(x, window=w, last=n)
            with np.errstate(invalid="ignore"):
                return where & (spread <= tol)
        windows = sliding_window_view(x, w, axis=1)[r, columns[j] - w + 1]
        spread = np.fmax.reduce(windows, axis=1) - np.fmin.reduce(windows, axis=1)
        result[r, j] = spread <= tol[r, 0]
        return result

    # A run is flat only if its newest few samples are: a cheap pre-filter, so the long
    # windows are gathered only where a sensor may be stuck.
    w_suspect = run_samples(step, suspect_s)
    short = min(w_suspect, 8)
    with np.errstate(invalid="ignore"):
        recent = rolling_max(x, window=short, last=n) - rolling_min(x, window=short, last=n) <= tol
    flat_suspect = flat(w_suspect, recent)
    evaluable, suspect = observed(w_suspect), flat_suspect & observed(w_suspect)
    fail = np.zeros_like(suspect)
    if fail_s is not None:
        w_fail = run_samples(step, fail_s)
        fail_evaluable = observed(w_fail)
        fail = flat(w_fail, flat_suspect & fail_evaluable)  # a longer run contains the shorter
        evaluable |= fail_evaluable
    current = x[:, length - n :]
    return _grade(current, evaluable & ~np.isnan(current), suspect, fail)


def attenuated_signal(
    values: npt.ArrayLike,
    times: npt.ArrayLike,
    *,
    window_s: float,
    suspect_range: Limit,
    fail_range: Limit | None = None,
    min_fraction: float = 0.5,
    last: int | None = None,
) -> Flags:
    """Attenuated-signal test (QARTOD, range form) with absolute, site-specific limits.

    The range (max - min) over each sample's trailing ``window_s`` below
    ``suspect_range`` is SUSPECT, below ``fail_range`` FAIL. The limits depend on how
    much the site's signal normally varies; for a default that fits every site see
    :func:`attenuated_signal_relative`.

    Args:
        values: (S, T) samples.
        times: (T,) regular epoch-second grid.
        window_s: Trailing window, seconds (e.g. one tidal cycle, 44 712 s).
        suspect_range: Range below which a sample is SUSPECT (scalar or per row).
        fail_range: Range below which a sample is FAIL, or None.
        min_fraction: Share of the window that must hold samples, else UNKNOWN.
        last: Flag only the newest ``last`` samples, the rest being history (None: all).

    Returns:
        (S, T) flags, or (S, last).
    """
    x = _values(values)
    rows, length = x.shape
    n = length if last is None else min(max(last, 0), length)
    w = window_samples(grid_step(times), window_s)
    need = _min_count(w, min_fraction)
    spread, evaluable = window_range(x, window=w, min_count=need, end=length, n=n)
    with np.errstate(invalid="ignore"):
        suspect = spread < _per_row(suspect_range, rows)
        fail = spread < _per_row(fail_range, rows) if fail_range is not None else False
    return _grade(x[:, length - n :], evaluable, suspect, fail)


def attenuated_signal_relative(
    values: npt.ArrayLike,
    times: npt.ArrayLike,
    *,
    window_s: float,
    lag_s: float,
    lags: int,
    suspect_ratio: Limit,
    fail_ratio: Limit | None = None,
    min_reference_range: Limit = 0.0,
    min_fraction: float = 0.5,
    last: int | None = None,
) -> Flags:
    """Attenuated signal judged against the series' own recent past (biofouling).

    The range over each sample's trailing ``window_s`` is divided by a reference: the
    median of the same window's range ``lag_s``, 2·``lag_s`` … ``lags``·``lag_s`` earlier
    (a lunar day, 89 424 s, keeps the tide in phase). A ratio below ``suspect_ratio`` is
    SUSPECT, below ``fail_ratio`` FAIL. Where the reference range is under
    ``min_reference_range`` the signal has no swing to lose and the sample is UNKNOWN, so
    a quiet pond or sea site is never flagged.

    Limitations: a signal that is really calmer (a river turning fresh after heavy rain,
    a neap tide much weaker than recent springs) looks the same; fouling that lasts
    longer than about half of ``lags``·``lag_s`` becomes the reference and is no longer
    flagged.

    Args:
        values: (S, T) samples.
        times: (T,) regular epoch-second grid.
        window_s: Window whose range is compared, seconds (one tidal cycle: 44 712 s).
        lag_s: Spacing of the reference windows, seconds.
        lags: Number of reference windows (the median is taken).
        suspect_ratio: Range ratio below which a sample is SUSPECT.
        fail_ratio: Range ratio below which a sample is FAIL, or None.
        min_reference_range: Smallest reference range evaluated (unit of the values).
        min_fraction: Share of each window that must hold samples.
        last: Flag only the newest ``last`` samples, the rest being history (None: all).

    Returns:
        (S, T) flags, or (S, last). The first ``window_s + lags·lag_s`` give UNKNOWN.
    """
    x = _values(values)
    rows, length = x.shape
    n = length if last is None else min(max(last, 0), length)
    step = grid_step(times)
    w = window_samples(step, window_s)
    shift = window_samples(step, lag_s)
    need = _min_count(w, min_fraction)

    def ranges(end: int, count: int) -> FloatArray:
        spread, enough = window_range(x, window=w, min_count=need, end=end, n=count)
        spread[~enough] = np.nan
        return spread

    lagged = np.full((lags, rows, n), np.nan)
    if last is None:  # all columns: one pass, then whole-array shifts per lag
        current = ranges(length, length)
        for k in range(1, lags + 1):
            if k * shift < length:
                lagged[k - 1, :, k * shift :] = current[:, : length - k * shift]
    else:  # a few columns: reduce each lagged window directly
        current = ranges(length, n)
        for k in range(1, lags + 1):
            lagged[k - 1] = ranges(length - k * shift, n)
    reference = nan_median(lagged)
    with np.errstate(invalid="ignore", divide="ignore"):
        evaluable = ~np.isnan(current) & (reference >= _per_row(min_reference_range, rows))
        ratio = current / reference
        suspect = ratio < _per_row(suspect_ratio, rows)
        fail = ratio < _per_row(fail_ratio, rows) if fail_ratio is not None else False
    return _grade(x[:, length - n :], evaluable, suspect, fail)


def _min_count(window: int, min_fraction: float) -> int:
    return max(2, int(np.ceil(min_fraction * window)))


def device_status(status: npt.ArrayLike) -> Flags:
    """Map Circular 10/2021 instrument status to flags.

    0 (measuring) → GOOD, 1 (calibrating) → SUSPECT, 2 (device error) → FAIL; any other
    code → UNKNOWN.

    Args:
        status: Integer array of status codes, any shape.

    Returns:
        Flags of the same shape.
    """
    s = np.asarray(status)
    flags = np.full(s.shape, _UNKNOWN, dtype=np.uint8)
    flags[s == 0] = _GOOD
    flags[s == 1] = _SUSPECT
    flags[s == 2] = _FAIL
    return flags
