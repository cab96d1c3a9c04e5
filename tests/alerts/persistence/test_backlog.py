"""The flag backlog's bookkeeping, in memory: which cells wait, as the window moves."""

from __future__ import annotations

import numpy as np

from alerts.kernels.window import Window
from alerts.persistence.backlog import FlagBacklog
from bench.alerts import registry

END = 1_795_000_200.0
STATIONS = registry(5)  # x 10 parameters: 50 rows


def window() -> Window:
    made = Window(list(STATIONS.stations.values()), span_s=3600.0, end=END)
    made.values[:, -3:] = 1.0  # the newest three instants hold readings
    return made


def test_after_a_failed_tick_every_cell_holding_a_reading_waits() -> None:
    backlog = FlagBacklog([window()])
    assert not backlog
    backlog.everything()
    assert len(backlog) == 50 * 3


def test_cells_without_a_reading_are_never_marked() -> None:
    held = window()
    backlog = FlagBacklog([held])
    backlog.add(0, np.array([0, 1]))  # whole rows
    backlog.add(0, np.array([2, 2]), np.array([0, held.length - 1]))  # (row, column) pairs
    assert len(backlog) == 2 * 3 + 1


def test_a_station_given_up_is_forgotten() -> None:
    held = window()
    backlog = FlagBacklog([held])
    backlog.everything()
    backlog.drop([held.station_ids[1], "KG-NOT-OURS"])
    assert len(backlog) == 40 * 3


def test_marks_follow_the_window_and_go_when_it_has_moved_past_them() -> None:
    held = window()
    backlog = FlagBacklog([held])
    backlog.add(0, np.array([0]))
    backlog.shift(0, 2)  # two instants added: the marks move with their cells
    assert len(backlog) == 3
    backlog.shift(0, held.length)
    assert not backlog
