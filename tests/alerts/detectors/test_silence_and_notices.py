"""Station silence and sensor maintenance notices, on hand-made windows."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.detectors.sensor_notices import sensor_notices
from alerts.detectors.silence import silence
from alerts.kernels.window import Window
from alerts.states import AlertFamily
from stations import load_registry
from telemetry import QCFlag

REGISTRY = load_registry()
STEP = 300.0
END = 1_795_000_200.0


def window() -> Window:
    stations = [REGISTRY.stations[s] for s in ("KG-SR-01", "KG-SR-02", "KG-CS-01")]
    w = Window(stations, span_s=12 * STEP, end=END)  # 13 columns
    return w


@pytest.mark.parametrize(
    ("last_column", "now_after_end", "silent", "due_offset"),
    [
        (12, 0, False, None),  # reported just now
        (9, 0, False, None),  # 15 min ago: exactly 3 intervals, still allowed
        (8, 0, True, 8 * STEP + 900),  # 20 min ago: past 3 intervals and the 15-min grace
        (12, 1200, True, 12 * STEP + 900),  # the clock moved on with nothing new
    ],
)
def test_silence_after_three_intervals_and_the_grace(
    last_column: int, now_after_end: float, silent: bool, due_offset: float | None
) -> None:
    w = window()
    w.values[w.station_rows("do")[0], : last_column + 1] = 5.0  # KG-SR-01 only
    w.values[w.station_rows("do")[2], :] = 6.0  # KG-CS-01 always reporting
    found = silence(w, now=END + now_after_end, grace_s=900, known={"KG-SR-02"})
    episodes, clear = found.episodes, found.clear
    by_station = {e.station_id: e for e in episodes}
    # KG-SR-02 never reported in the window: silent, continuing from before the window.
    assert by_station["KG-SR-02"].continues
    if now_after_end > 900:  # KG-CS-01 too has been silent for longer than the grace
        assert "KG-CS-01" in by_station
    else:
        assert ("KG-CS-01", "station.offline") in clear
    if silent:
        assert by_station["KG-SR-01"].opened_at == w.times[0] + due_offset
        assert not by_station["KG-SR-01"].continues
    else:
        assert "KG-SR-01" not in by_station
        assert clear[("KG-SR-01", "station.offline")] == w.times[last_column]


def test_a_station_that_never_reported_is_not_offline() -> None:
    w = window()
    w.values[w.station_rows("do")[0], :] = 5.0  # only KG-SR-01 reports
    found = silence(w, now=END, grace_s=900, known={"KG-CS-01"})
    episodes, clear = found.episodes, found.clear
    # KG-SR-02 is not commissioned yet; KG-CS-01 reported before this window.
    assert [(e.station_id, e.continues) for e in episodes] == [("KG-CS-01", True)]
    assert set(clear) == {("KG-SR-01", "station.offline")}


def test_a_stuck_sensor_run_gives_one_maintenance_notice_per_series() -> None:
    w = window()
    flags = np.full(w.values.shape, QCFlag.GOOD, dtype=np.uint8)
    do_row = w.station_rows("do")[1]
    ph_row = w.station_rows("ph")[1]
    flags[do_row, 4:] = QCFlag.SUSPECT  # stuck from column 4 on: 9 samples = 45 min
    flags[do_row, 7] = QCFlag.FAIL
    flags[ph_row, 2:4] = QCFlag.SUSPECT  # 10 min only: below the 30-min threshold
    flags[:, -1][flags[:, -1] == QCFlag.GOOD] = QCFlag.MISSING  # newest column not in yet
    found = sensor_notices(w, flags, min_s=1800)
    episodes, clear = found.episodes, found.clear
    assert len(episodes) == 1
    (notice,) = episodes
    assert (notice.station_id, notice.rule_id, notice.family) == (
        "KG-SR-02",
        "maintenance.do",
        AlertFamily.QUALITY,
    )
    assert notice.opened_at == w.times[4 + 6 - 1]  # due once 6 samples (30 min) were bad
    assert notice.resolved_at is None
    assert notice.details["worst_flag"] == QCFlag.FAIL
    assert ("KG-SR-02", "maintenance.do") not in clear
    assert ("KG-SR-02", "maintenance.ph") in clear  # newest present flag is good


def test_a_notice_resolves_when_the_series_reads_good_again() -> None:
    w = window()
    flags = np.full(w.values.shape, QCFlag.GOOD, dtype=np.uint8)
    row = w.station_rows("sal")[0]
    flags[row, 1:9] = QCFlag.FAIL
    found = sensor_notices(w, flags, min_s=1800)
    (notice,), clear = found.episodes, found.clear
    assert notice.resolved_at == w.times[9]
    assert clear[("KG-SR-01", "maintenance.sal")] == w.times[-1]


def test_a_run_over_before_the_window_slid_past_its_start_is_not_found_again() -> None:
    # Seen whole by earlier ticks; with its start gone, a due time counted from the
    # window's first column would read as a new episode every tick.
    w = window()
    flags = np.full(w.values.shape, QCFlag.GOOD, dtype=np.uint8)
    row = w.station_rows("sal")[0]
    flags[row, 0:8] = QCFlag.FAIL
    found = sensor_notices(w, flags, min_s=1800)
    assert found.episodes == ()
    assert ("KG-SR-01", "maintenance.sal") in found.clear
    # Still going at the window's end, it is reported (continuing).
    flags[row, :] = QCFlag.FAIL
    (notice,) = sensor_notices(w, flags, min_s=1800).episodes
    assert notice.continues
    assert notice.resolved_at is None
