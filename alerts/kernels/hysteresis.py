"""Threshold evaluation with tiers, minimum duration and hysteresis, for many series at once.

S series (rows: one per station and rule) share one time axis ``times`` (T,); ``values``
(S, T) holds each series, NaN where missing or masked (suspect, failed). The evaluation
walks the T instants in order, each step a handful of numpy operations over all S rows,
and carries a small per-row :class:`ThresholdState` from call to call, so the engine can
feed only the new samples each tick and persist the state across restarts.

Semantics, per row (tiers 1 advisory, 2 warning, 3 critical; ``d`` is +1 for ``above``,
-1 for ``below``):

* A valid sample is **beyond** tier k when ``d * (value - threshold_k) > 0`` (strict:
  "DO >= 3.5" is broken by 3.49, not by 3.5). Absent tiers (NaN) are never beyond.
* Tier k is **due** at a sample that is beyond it when the row has been beyond it at every
  valid sample since the run began, and the run's first and current samples are at least
  ``min_duration_s`` apart (0: due at once). A valid sample not beyond ends the run.
* **Gaps**: missing samples neither break nor extend a run, unless two consecutive valid
  samples are more than ``max_gap_s`` apart (the profiles use 3 sampling intervals); then
  the run restarts at the later sample. The same holds for clearing runs. An open alert
  stays open through any gap: station silence is the offline check's business.
* **Open**: with no alert open, the highest due tier opens one (OPEN, tier, time).
  **Escalate**: while open, a higher tier becoming due raises the severity (ESCALATE).
  There is **no de-escalation**: an open alert keeps the highest tier it reached until it
  resolves, so a value hovering between two tiers sends no down-and-up messages.
* **Clear**: while open, a valid sample is *clear* when it is on the good side of the least
  severe threshold by more than ``clear_band``: ``d * (value - threshold_low) < -band``.
  Samples inside the band neither hold nor clear; they restart both kinds of run. The
  alert **resolves** (RESOLVE) when the clear run's first and current samples are at least
  ``clear_duration_s`` apart. A value oscillating around a threshold by less than the band,
  or leaving the band for less than the clear duration, therefore gives exactly one alert.
* Transitions happen only at valid samples, at their times. Samples at or before a row's
  ``last_time`` are ignored, so feeding an overlapping window again changes nothing, and
  evaluating a window in chunks gives the same transitions as evaluating it whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.states import TransitionKind

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Int8Array = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ThresholdParams:
    """The rules of S rows as arrays, built once (``alerts.detectors.rules`` builds them).

    Attributes:
        direction: +1 where higher is bad (``above``), -1 where lower is bad (``below``).
        tiers: (S, 3) thresholds of advisory, warning, critical; NaN for an absent tier.
        min_duration_s: How long a tier must hold before it is due.
        clear_band: Hysteresis band, in the rule's units (>= 0).
        clear_duration_s: How long the value must stay clear before the alert resolves.
        max_gap_s: Longest silence between valid samples that keeps a run going.
    """

    direction: Int8Array
    tiers: FloatArray
    min_duration_s: FloatArray
    clear_band: FloatArray
    clear_duration_s: FloatArray
    max_gap_s: FloatArray

    def __post_init__(self) -> None:
        rows = len(self.direction)
        shapes = [a.shape for a in (self.min_duration_s, self.clear_band, self.clear_duration_s)]
        if self.tiers.shape != (rows, 3) or any(
            s != (rows,) for s in [*shapes, self.max_gap_s.shape]
        ):
            msg = f"parameters must be (S,) arrays and tiers (S, 3), for S = {rows}"
            raise ValueError(msg)
        if not np.isin(self.direction, (-1, 1)).all():
            msg = "direction must be +1 (above) or -1 (below)"
            raise ValueError(msg)

    def __len__(self) -> int:
        return len(self.direction)


@dataclass(frozen=True, slots=True)
class ThresholdState:
    """What each row carries from one evaluation to the next (persist it to survive restarts).

    Attributes:
        tier: Open tier, 0 when no alert is open.
        since: (S, 3) time the current run beyond each tier began; NaN when not beyond.
        clear_since: Time the current clear run began; NaN when not clearing.
        last_time: Time of the last valid sample evaluated; NaN before the first.
    """

    tier: Int8Array
    since: FloatArray
    clear_since: FloatArray
    last_time: FloatArray

    @classmethod
    def initial(cls, rows: int) -> ThresholdState:
        """The state of rows never evaluated (no alert open)."""
        return cls(
            tier=np.zeros(rows, dtype=np.int8),
            since=np.full((rows, 3), np.nan),
            clear_since=np.full(rows, np.nan),
            last_time=np.full(rows, np.nan),
        )

    def __len__(self) -> int:
        return len(self.tier)


@dataclass(frozen=True, slots=True)
class Transitions:
    """Alert transitions of one evaluation, sorted by row then time.

    Attributes:
        row: Row index into the evaluated arrays.
        kind: :class:`TransitionKind` value.
        tier: The tier opened or escalated to; for RESOLVE the tier that was open.
        time: Time of the sample at which it happened (when it became due, or resolved).
        since: When the run that made it happen began (the tier's beyond run, or the
            clear run).
        value: The sample's value.
    """

    row: IntArray
    kind: Int8Array
    tier: Int8Array
    time: FloatArray
    since: FloatArray
    value: FloatArray

    def __len__(self) -> int:
        return len(self.row)


@dataclass(frozen=True, slots=True)
class ThresholdResult:
    """The state after the window and the transitions within it."""

    state: ThresholdState
    transitions: Transitions


def _check(times: FloatArray, values: FloatArray, rows: int, state_rows: int) -> None:
    if times.ndim != 1 or values.shape != (rows, len(times)) or state_rows != rows:
        msg = (
            f"times must be (T,), values (S, T) and the state S long; got times {times.shape},"
            f" values {values.shape}, {rows} parameter rows and {state_rows} state rows"
        )
        raise ValueError(msg)
    if not np.isfinite(times).all() or (np.diff(times) <= 0).any():
        msg = "times must be finite and strictly increasing"
        raise ValueError(msg)


def evaluate(
    times: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    params: ThresholdParams,
    state: ThresholdState,
) -> ThresholdResult:
    """Evaluate S series over a window, continuing from ``state``.

    Args:
        times: (T,) epoch seconds, strictly increasing, shared by every row.
        values: (S, T) float64, NaN = missing (or masked out by data quality).
        params: The rows' rules.
        state: The rows' state after the previous window (:meth:`ThresholdState.initial`
            for rows never evaluated).

    Returns:
        The new state (``state`` is not modified) and the transitions in the window.

    Raises:
        ValueError: Shapes do not agree, or ``times`` is not strictly increasing.
    """
    t_all = np.asarray(times, dtype=np.float64)
    x = np.asarray(values, dtype=np.float64)
    _check(t_all, x, len(params), len(state))
    d = params.direction.astype(np.float64)
    # Per tier, contiguous (S,) rows: beyond tier k when d * v > signed[k].
    signed = np.ascontiguousarray((d[:, None] * params.tiers).T)
    present = [k for k in range(3) if not np.isnan(signed[k]).all()]
    lo = np.where(d > 0, np.fmin.reduce(params.tiers, axis=1), np.fmax.reduce(params.tiers, axis=1))
    clear_below = d * lo - params.clear_band  # clear: d * v < clear_below
    tier = state.tier.copy()
    since = np.ascontiguousarray(state.since.T)  # a copy: (3, S)
    clear_since = state.clear_since.copy()
    last = state.last_time.copy()
    min_s, gap_s, clear_s = params.min_duration_s, params.max_gap_s, params.clear_duration_s
    found: list[_Found] = []
    due = np.zeros(len(tier), dtype=np.int8)
    for t, v in zip(t_all.tolist(), np.ascontiguousarray(x.T), strict=True):
        valid = ~np.isnan(v)
        valid &= ~(last >= t)  # already evaluated (NaN: never)
        if not valid.any():
            continue
        fresh = ~(t - last <= gap_s)  # first valid sample, or after a long gap
        fresh &= valid
        dv = d * v
        due.fill(0)
        for k in present:
            run = since[k]
            beyond = dv > signed[k]
            beyond &= valid
            restart = np.isnan(run)
            restart |= fresh
            restart &= beyond
            np.copyto(run, t, where=restart)
            np.copyto(run, np.nan, where=valid & ~beyond)
            held = t - run >= min_s
            held &= beyond  # only at a valid sample beyond the tier
            np.copyto(due, k + 1, where=held)
        clearing = dv < clear_below
        clearing &= valid
        clearing &= tier > 0
        restart = np.isnan(clear_since)
        restart |= fresh
        restart &= clearing
        np.copyto(clear_since, t, where=restart)
        np.copyto(clear_since, np.nan, where=valid & ~clearing)
        np.copyto(last, t, where=valid)
        resolved = t - clear_since >= clear_s
        resolved &= clearing
        opened = due > tier
        if opened.any() or resolved.any():
            rows = np.flatnonzero(opened)
            kind = np.where(tier[rows] == 0, TransitionKind.OPEN, TransitionKind.ESCALATE)
            found.append((rows, kind, due[rows], t, since[due[rows] - 1, rows], v[rows]))
            np.maximum(tier, due, out=tier)
            rows = np.flatnonzero(resolved)
            resolve = np.full(len(rows), TransitionKind.RESOLVE)
            found.append((rows, resolve, tier[rows], t, clear_since[rows], v[rows]))
            tier[rows] = 0
            clear_since[rows] = np.nan
    return ThresholdResult(
        ThresholdState(tier=tier, since=since.T.copy(), clear_since=clear_since, last_time=last),
        _transitions(found),
    )


_Found = tuple[IntArray, npt.NDArray[np.int_], Int8Array, float, FloatArray, FloatArray]


def _transitions(found: list[_Found]) -> Transitions:
    if not found:
        empty = np.zeros(0)
        return Transitions(
            row=np.zeros(0, dtype=np.int64),
            kind=np.zeros(0, dtype=np.int8),
            tier=np.zeros(0, dtype=np.int8),
            time=empty,
            since=empty.copy(),
            value=empty.copy(),
        )
    row = np.concatenate([f[0] for f in found]).astype(np.int64)
    kind = np.concatenate([f[1] for f in found]).astype(np.int8)
    tier = np.concatenate([f[2] for f in found]).astype(np.int8)
    time = np.concatenate([np.full(len(f[0]), f[3]) for f in found])
    since = np.concatenate([f[4] for f in found])
    value = np.concatenate([f[5] for f in found])
    order = np.lexsort((time, row))
    return Transitions(
        row=row[order],
        kind=kind[order],
        tier=tier[order],
        time=time[order],
        since=since[order],
        value=value[order],
    )
