"""The engine's in-memory window of series on a time grid."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.kernels.window import Batch, Window
from stations import load_registry
from telemetry import QCFlag

REGISTRY = load_registry()
STEP = 300.0
END = 1_795_000_200.0  # on the 5-minute grid


def window(span_s: float = 3_600) -> Window:
    stations = [REGISTRY.stations["KG-SR-01"], REGISTRY.stations["KG-CS-01"]]
    return Window(stations, span_s=span_s, end=END + 59)


def batch(*rows: tuple[str, int, float, float, int]) -> Batch:
    s, p, t, v, d = zip(*rows, strict=True)
    return Batch(np.array(s), np.array(p), np.array(t), np.array(v), np.array(d))


def test_layout_grid_and_rows() -> None:
    w = window()
    assert w.step == STEP
    assert w.end == END
    assert w.length == 13
    assert w.times[-1] == END
    assert w.times[0] == END - 12 * STEP
    assert len(w.row_parameter) == 16  # 8 parameters each
    assert w.row_parameter[:3] == ("temp", "ph", "do")
    assert w.row_kind[0] == "shrimp_river"
    assert w.row_kind[8] == "cage_sea"


def test_place_snaps_to_the_grid_keeps_late_data_and_ignores_what_is_outside() -> None:
    w = window()
    placed, rows, columns = w.place(
        batch(
            ("KG-SR-01", 3, END, 4.2, 0),  # newest column
            ("KG-SR-01", 3, END - 3 * STEP + 20, 3.9, 1),  # late and a little off the grid
            ("KG-CS-01", 3, END - STEP, 6.0, 0),
            ("KG-CS-01", 21, END, 10.0, 0),  # flow: not measured at KG-CS-01
            ("KG-XX-99", 3, END, 1.0, 0),  # another worker's station
            ("KG-SR-01", 3, END - 20 * STEP, 5.0, 0),  # older than the window
        )
    )
    assert placed.tolist() == [True, True, True, False, False, False]
    do_sr01 = w.station_rows("do")[0]
    assert rows.tolist() == [do_sr01, do_sr01, w.station_rows("do")[1]]
    assert columns.tolist() == [12, 9, 11]
    assert w.values[do_sr01, 12] == 4.2
    assert w.status[do_sr01, 9] == 1
    assert np.isnan(w.values[do_sr01, 10])
    assert np.isnan(w.series("flow")).all()  # neither station measures flow
    assert w.series("do")[1, 11] == 6.0


@pytest.mark.parametrize(("minutes", "shift"), [(0, 0), (4, 0), (5, 1), (31, 6), (600, 13)])
def test_advance_slides_the_grid(minutes: int, shift: int) -> None:
    w = window()
    w.place(batch(("KG-SR-01", 1, END, 29.0, 0), ("KG-SR-01", 1, END - 6 * STEP, 28.0, 0)))
    assert w.advance(END + minutes * 60) == shift
    row = w.station_rows("temp")[0]
    expected = np.full(13, np.nan)
    if 12 - shift >= 0:
        expected[12 - shift] = 29.0
    if 6 - shift >= 0:
        expected[6 - shift] = 28.0
    np.testing.assert_array_equal(w.values[row], expected)


@pytest.mark.parametrize("shift", [1, 6])
def test_advance_leaves_nothing_of_one_series_in_another(shift: int) -> None:
    # The rows move left through one buffer: the oldest values of each row must not
    # reappear at the end of the row before it.
    w = window()
    for row in range(len(w.values)):
        w.values[row] = row + np.arange(w.length) / 100
    w.flags[:] = 0
    w.advance(END + shift * STEP)
    for row in range(len(w.values)):
        np.testing.assert_array_equal(
            w.values[row, :-shift], row + np.arange(shift, w.length) / 100
        )
        assert np.isnan(w.values[row, -shift:]).all()
        assert (w.flags[row, -shift:] == QCFlag.MISSING).all()
        assert (w.flags[row, :-shift] == 0).all()


def test_stations_are_looked_up_alike_grouped_or_not() -> None:
    # Readings come grouped by station (runs looked up once) or in any order.
    w = window()
    ids = ["KG-CS-01"] * 3 + ["KG-XX-99"] * 2 + ["KG-SR-01"] * 4 + ["KG-CS-01"]
    grouped = np.array(ids)
    shuffled = grouped[[9, 0, 5, 3, 1, 6, 4, 2, 8, 7]]
    assert w.station_index(grouped).tolist() == [1, 1, 1, -1, -1, 0, 0, 0, 0, 1]
    assert w.station_index(shuffled).tolist() == [
        w.station_index(grouped)[i] for i in [9, 0, 5, 3, 1, 6, 4, 2, 8, 7]
    ]
    readings = batch(*[(s, 1, END, 1.0, 0) for s in ids])
    assert readings.among(["KG-SR-01", "KG-XX-99"]).tolist() == [s != "KG-CS-01" for s in ids]
    assert Batch.empty().among(["KG-SR-01"]).tolist() == []


def test_one_window_one_sampling_interval() -> None:
    other = REGISTRY.stations["KG-SR-02"].model_copy(update={"sampling_interval_s": 60})
    with pytest.raises(ValueError, match="one sampling interval"):
        Window([REGISTRY.stations["KG-SR-01"], other], span_s=3600, end=END)


@pytest.mark.parametrize(
    ("offset", "now", "placed", "ahead"),
    [
        (-150.0, END + 59, True, False),  # half a step before: its own cell
        (149.0, END + 149, True, False),  # nearest the newest column, and its time has come
        (149.0, END + 59, False, True),  # nearest the newest column, but dated after now
        (150.0, END + 299, False, True),  # half a step rounds up: the next, future instant
        (240.0, END + 299, False, True),  # a logger 4 minutes fast
    ],
)
def test_readings_ahead_wait_for_the_grid_and_the_clock(
    offset: float, now: float, placed: bool, ahead: bool
) -> None:
    w = window()
    readings = batch(("KG-SR-01", 3, END + offset, 4.2, 0), ("KG-XX-99", 3, END + 240, 1.0, 0))
    assert w.place(readings, now=now)[0].tolist() == [placed, False]
    assert w.ahead(readings, now=now).tolist() == [ahead, False]
