"""Threshold evaluation: tiers, minimum duration, hysteresis, clear duration, gaps, chunks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from alerts.kernels.hysteresis import (
    ThresholdParams,
    ThresholdResult,
    ThresholdState,
    evaluate,
)
from alerts.states import TransitionKind

N = float("nan")
STEP = 300.0  # 5-minute samples
OPEN, ESC, RES = TransitionKind.OPEN, TransitionKind.ESCALATE, TransitionKind.RESOLVE
DO_TIERS = (4.0, 3.0, 2.0)  # below: advisory < 4, warning < 3, critical < 2


def params(
    rows: int = 1,
    *,
    above: bool = False,
    tiers: tuple[float, float, float] = DO_TIERS,
    min_s: float = 0.0,
    band: float = 0.3,
    clear_s: float = 0.0,
    gap_s: float = 3 * STEP,
) -> ThresholdParams:
    """Parameters of ``rows`` identical rows."""
    return ThresholdParams(
        direction=np.full(rows, 1 if above else -1, dtype=np.int8),
        tiers=np.tile(np.array(tiers, dtype=np.float64), (rows, 1)),
        min_duration_s=np.full(rows, min_s),
        clear_band=np.full(rows, band),
        clear_duration_s=np.full(rows, clear_s),
        max_gap_s=np.full(rows, gap_s),
    )


def run(values: list[float], p: ThresholdParams) -> list[tuple[TransitionKind, int, int]]:
    """Evaluate one row sampled every STEP from t = 0: (kind, tier, sample index) each."""
    times = STEP * np.arange(len(values))
    result = evaluate(times, np.array([values]), params=p, state=ThresholdState.initial(1))
    tr = result.transitions
    return [
        (TransitionKind(k), int(t), round(at / STEP))
        for k, t, at in zip(tr.kind, tr.tier, tr.time, strict=True)
    ]


@pytest.mark.parametrize(
    ("values", "min_s", "expected"),
    [
        # Opens once the first and current samples beyond are min_duration (15 min) apart.
        ([5, 3.9, 3.9, 3.9, 3.9, 5], 900, [(OPEN, 1, 4), (RES, 1, 5)]),
        ([5, 3.9, 3.9, 3.9, 5], 900, []),  # 10 min beyond: too short
        ([5, 3.9, 3.9, 5, 3.9, 3.9, 3.9], 900, []),  # a good sample restarts the count
        ([5, 3.9], 0, [(OPEN, 1, 1)]),  # no minimum duration: at once
        ([4.0, 4.0], 0, []),  # strictly below: 4.0 does not break "DO >= 4"
        ([1.5], 0, [(OPEN, 3, 0)]),  # straight to critical
    ],
)
def test_minimum_duration(
    values: list[float], min_s: float, expected: list[tuple[TransitionKind, int, int]]
) -> None:
    assert run(values, params(min_s=min_s)) == expected


@pytest.mark.parametrize(
    ("values", "clear_s", "expected"),
    [
        # Band 0.3: back above 4.3 clears; 4.1 and 4.2 are inside the band.
        ([3.9, 4.1, 4.2, 4.31], 0, [(OPEN, 1, 0), (RES, 1, 3)]),
        ([3.9, 4.1, 4.3, 4.2], 0, [(OPEN, 1, 0)]),  # 4.3 is not beyond the band
        # Clear duration 10 min: clear samples 10 min apart resolve.
        ([3.9, 4.5, 4.5, 4.5], 600, [(OPEN, 1, 0), (RES, 1, 3)]),
        ([3.9, 4.5, 4.5], 600, [(OPEN, 1, 0)]),
        # A sample inside the band restarts the clear run.
        ([3.9, 4.5, 4.5, 4.2, 4.5, 4.5, 4.5], 600, [(OPEN, 1, 0), (RES, 1, 6)]),
        # So does one beyond a tier, without a new alert.
        ([3.9, 4.5, 4.5, 3.8, 4.5, 4.5, 4.5], 600, [(OPEN, 1, 0), (RES, 1, 6)]),
    ],
)
def test_hysteresis_and_clear_duration(
    values: list[float], clear_s: float, expected: list[tuple[TransitionKind, int, int]]
) -> None:
    assert run(values, params(clear_s=clear_s)) == expected


@pytest.mark.parametrize(
    ("values", "min_s", "expected"),
    [
        # Escalates tier by tier; never steps down while open; resolves from the top tier.
        ([3.9, 2.9, 1.9, 3.5, 2.5, 5], 0, [(OPEN, 1, 0), (ESC, 2, 1), (ESC, 3, 2), (RES, 3, 5)]),
        # Each tier needs its own minimum duration: warning run starts at sample 1.
        ([3.5, 2.5, 2.5, 2.5], 600, [(OPEN, 1, 2), (ESC, 2, 3)]),
        # Both tiers held 10 min at sample 2: opens at the higher one directly.
        ([2.5, 2.5, 2.5], 600, [(OPEN, 2, 2)]),
    ],
)
def test_escalation(
    values: list[float], min_s: float, expected: list[tuple[TransitionKind, int, int]]
) -> None:
    assert run(values, params(min_s=min_s)) == expected


def test_a_value_oscillating_around_a_limit_gives_exactly_one_alert() -> None:
    # A day of 5-minute DO hovering around 4 mg/L: +-0.25 swings and a little noise.
    i = np.arange(288)
    values = 4.0 + 0.25 * np.sin(i / 3.0) + 0.04 * np.cos(i * 1.7)
    transitions = run(values.tolist(), params(min_s=900, clear_s=1800))
    assert transitions == [(OPEN, 1, transitions[0][2])]
    # Crossing far beyond the band but never for the clear duration: still one alert.
    assert run([3.5, 4.6] * 50, params(clear_s=900)) == [(OPEN, 1, 0)]
    # Excursions shorter than the minimum duration never open one.
    assert run([3.8, 4.2] * 50, params(min_s=600)) == []


@pytest.mark.parametrize(
    ("values", "min_s", "gap_s", "expected"),
    [
        # Missing samples do not break a condition when the silence is at most max_gap.
        ([3.9, N, N, 3.9, 3.9], 900, 900, [(OPEN, 1, 3)]),
        # A longer silence restarts it at the sample after the gap.
        ([3.9, N, N, 3.9, 3.9, 3.9, 3.9], 900, 600, [(OPEN, 1, 6)]),
        # Time passing over missing samples never makes anything due.
        ([3.9, 3.9, N, N, N], 600, 900, []),
        # An open alert stays open through any gap; the first clear sample after resolves.
        ([3.9, *[N] * 10, 4.5], 0, 900, [(OPEN, 1, 0), (RES, 1, 11)]),
        ([N, N, N], 0, 900, []),
    ],
)
def test_gaps(
    values: list[float],
    min_s: float,
    gap_s: float,
    expected: list[tuple[TransitionKind, int, int]],
) -> None:
    assert run(values, params(min_s=min_s, gap_s=gap_s)) == expected


def test_a_clear_run_broken_by_a_long_gap_restarts() -> None:
    p = params(clear_s=900, gap_s=600)
    # Clear at 1 and 2, silent 15 min, clear again at 6: the run restarts at 6, resolves at 9.
    values = [3.9, 4.5, 4.5, N, N, N, 4.5, 4.5, 4.5, 4.5]
    assert run(values, p) == [(OPEN, 1, 0), (RES, 1, 9)]


def test_above_direction_and_absent_tiers() -> None:
    nh3 = params(above=True, tiers=(0.03, 0.1, 0.3), band=0.01)
    assert run([0.02, 0.05, 0.2, 0.025, 0.015], nh3) == [
        (OPEN, 1, 1),
        (ESC, 2, 2),
        (RES, 2, 4),
    ]
    ph_low = params(tiers=(N, 7.0, N), band=0.1)  # a warning tier only
    assert run([7.2, 6.9, 7.05, 7.11], ph_low) == [(OPEN, 2, 1), (RES, 2, 3)]


def test_many_rows_with_different_thresholds_in_one_call() -> None:
    p = ThresholdParams(
        direction=np.array([-1, 1, -1, 1], dtype=np.int8),
        tiers=np.array([[4, 3, 2], [0.03, 0.1, 0.3], [N, 7.0, N], [25, 35, 40]], dtype=float),
        min_duration_s=np.array([0, 0, 300, 600], dtype=float),
        clear_band=np.array([0.3, 0.01, 0.1, 1.0]),
        clear_duration_s=np.array([0, 0, 0, 300], dtype=float),
        max_gap_s=np.full(4, 900.0),
    )
    values = np.array(
        [
            [3.9, 2.9, 4.4, 4.4, 4.4],  # DO: open, escalate, resolve
            [0.02, 0.2, 0.2, 0.01, 0.01],  # NH3: straight to warning, resolve
            [7.2, 6.9, 6.9, 6.9, 7.2],  # pH warning after 5 min, resolve
            [30, 36, 36, 36, 20],  # salinity: each tier held 10 min; clear 5 min
        ]
    )
    result = evaluate(STEP * np.arange(5), values, params=p, state=ThresholdState.initial(4))
    tr = result.transitions
    got = [
        (int(r), int(k), int(t), int(at // STEP))
        for r, k, t, at in zip(tr.row, tr.kind, tr.tier, tr.time, strict=True)
    ]
    assert got == [
        (0, OPEN, 1, 0),
        (0, ESC, 2, 1),
        (0, RES, 2, 2),
        (1, OPEN, 2, 1),
        (1, RES, 2, 3),
        (2, OPEN, 2, 2),
        (2, RES, 2, 4),
        (3, OPEN, 1, 2),
        (3, ESC, 2, 3),
    ]
    assert result.state.tier.tolist() == [0, 0, 0, 2]
    assert tr.since[tr.row == 3].tolist() == [0.0, STEP]  # when each tier's run began
    assert tr.value[tr.row == 1].tolist() == [0.2, 0.01]


def random_window(rows: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = 4.0 + 1.5 * np.sin(np.arange(length) / 20.0 + rng.uniform(0, 6, (rows, 1)))
    values = base + rng.normal(0, 0.4, (rows, length))
    values[rng.random((rows, length)) < 0.15] = np.nan
    values[:, 40:47] = np.nan  # a long outage for every row
    return STEP * np.arange(length) + 1.7e9, values


def mixed_params(rows: int, seed: int) -> ThresholdParams:
    rng = np.random.default_rng(seed)
    return ThresholdParams(
        direction=np.where(rng.random(rows) < 0.5, -1, 1).astype(np.int8),
        tiers=np.where(
            (rng.random(rows) < 0.5)[:, None],
            np.array([[4.0, 3.0, 2.0]]),
            np.array([[4.5, 5.5, N]]),
        ),
        min_duration_s=rng.choice([0.0, 600.0, 1800.0], rows),
        clear_band=rng.choice([0.0, 0.2, 0.5], rows),
        clear_duration_s=rng.choice([0.0, 300.0, 1200.0], rows),
        max_gap_s=rng.choice([600.0, 900.0], rows),
    )


def as_set(result: ThresholdResult) -> list[tuple[int, int, int, float, float]]:
    tr = result.transitions
    return sorted(
        zip(
            tr.row.tolist(),
            tr.kind.tolist(),
            tr.tier.tolist(),
            tr.time.tolist(),
            tr.since.tolist(),
            strict=True,
        )
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chunks_give_the_same_transitions_as_one_window(seed: int) -> None:
    rows, length = 60, 300
    times, values = random_window(rows, length, seed)
    p = mixed_params(rows, seed)
    whole = evaluate(times, values, params=p, state=ThresholdState.initial(rows))
    assert len(whole.transitions) > 50  # the data exercises the machine
    rng = np.random.default_rng(seed)
    cuts = np.unique(np.r_[0, rng.integers(1, length, 25), length])
    state = ThresholdState.initial(rows)
    pieces = []
    for start, end in itertools.pairwise(cuts):
        # Overlap the previous chunk: already evaluated samples are ignored.
        begin = max(0, start - 3)
        part = evaluate(times[begin:end], values[:, begin:end], params=p, state=state)
        pieces += as_set(part)
        state = part.state
    assert sorted(pieces) == as_set(whole)
    for name in ("tier", "since", "clear_since", "last_time"):
        np.testing.assert_array_equal(getattr(state, name), getattr(whole.state, name))


def test_the_input_state_is_not_modified_and_empty_windows_are_fine() -> None:
    p = params(2)
    state = ThresholdState.initial(2)
    result = evaluate(np.array([0.0]), np.array([[2.9], [N]]), params=p, state=state)
    assert state.tier.tolist() == [0, 0]
    assert result.state.tier.tolist() == [2, 0]
    empty = evaluate(np.zeros(0), np.zeros((2, 0)), params=p, state=result.state)
    assert len(empty.transitions) == 0
    assert empty.state.tier.tolist() == [2, 0]


@pytest.mark.parametrize(
    ("times", "values", "message"),
    [
        ([0.0, 0.0], [[1.0, 1.0]], "strictly increasing"),
        ([1.0, 0.0], [[1.0, 1.0]], "strictly increasing"),
        ([0.0, N], [[1.0, 1.0]], "strictly increasing"),
        ([0.0, 1.0], [[1.0, 1.0, 1.0]], "values (S, T)"),
        ([0.0, 1.0], [[1.0, 1.0], [1.0, 1.0]], "values (S, T)"),
    ],
)
def test_bad_input_is_refused(times: list[float], values: list[list[float]], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(
            np.array(times), np.array(values), params=params(), state=ThresholdState.initial(1)
        )
