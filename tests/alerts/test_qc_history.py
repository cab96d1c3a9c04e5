"""The longer QC history: which series it keeps, and on what grid."""

from __future__ import annotations

import pytest

from alerts.config.quality import load_quality_config
from alerts.kernels.window import Window
from alerts.qc_history import QcHistory, reach_s
from stations import load_registry

END = 1_795_000_000.0


def history(interval_s: int, *, span_s: float, step_s: float = 300.0) -> QcHistory:
    stations = [
        s.model_copy(update={"sampling_interval_s": interval_s})
        for s in load_registry().with_clones(40).stations.values()
    ]
    return QcHistory(Window(stations, span_s=span_s, end=END), load_quality_config(), step_s=step_s)


@pytest.mark.parametrize(
    ("interval_s", "step", "columns"),
    [
        # columns: (312,984 s of lookback + 2 cells) // step + 1
        (30, 300.0, 1046),
        (60, 300.0, 1046),
        (300, 300.0, 1046),
        (120, 360.0, 872),  # a whole number of sampling steps: 3
        (900, 900.0, 350),  # never finer than the sampling
    ],
)
def test_the_grid_follows_the_span_not_the_sampling(
    interval_s: int, step: float, columns: int
) -> None:
    kept = history(interval_s, span_s=26 * 3600.0)
    assert kept.window.step == step
    assert kept.window.length == columns
    assert set(kept.window.row_parameter) == {"sal", "cond"}  # the biofouling check's


def test_its_memory_is_the_same_at_30_s_as_at_5_minutes() -> None:
    fast, slow = history(30, span_s=26 * 3600.0), history(300, span_s=26 * 3600.0)
    assert fast.window.values.shape == slow.window.values.shape
    assert fast.window.values.nbytes == slow.window.values.nbytes


def test_a_short_window_keeps_the_flat_line_series_but_not_the_spike_test() -> None:
    # An hour's window cannot judge 12 h of flat line: those series are kept, on 5 minutes;
    # the spike test (3 h of lookback) needs every sample, so it stays with the window.
    short = history(30, span_s=3600.0)
    assert short.window.step == 300.0
    assert {"temp", "do", "ph", "sal"} <= set(short.window.row_parameter)
    spike = load_quality_config().checks(kind="shrimp_river", parameter="temp")["spike"]
    assert not spike.COARSE
    assert spike.lookback_s > short.beyond_s
    assert short.window.length == 1046


@pytest.mark.parametrize("interval_s", [30, 300, 900])
@pytest.mark.parametrize("span_s", [3600.0, 26 * 3600.0])
def test_its_reach_is_known_before_it_is_built(interval_s: int, span_s: float) -> None:
    # The engine reads a start's readings while it builds the histories: the span it reads
    # must cover every one, and not much more.
    kept = history(interval_s, span_s=span_s)
    reach = reach_s(kept.engine_window.stations, load_quality_config(), step_s=300.0)
    assert kept.window.length * kept.window.step <= reach
    assert reach <= kept.window.length * kept.window.step + kept.window.step
