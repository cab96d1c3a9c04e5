"""QC as the running engine applies it, tick by tick, not only the kernels on whole series."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import numpy.typing as npt
import pytest

from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.engine import Engine
from alerts.kernels.window import Batch
from alerts.settings import AlertSettings
from stations import Registry, Station, load_registry
from telemetry import PARAMETERS, QCFlag
from tests.alerts.real_data import data_file

PST = timezone(timedelta(hours=-8))
START = datetime(2026, 11, 20, tzinfo=UTC).timestamp()
FloatArray = npt.NDArray[np.float64]


def station(parameters: Sequence[str], interval_s: int) -> Station:
    base = load_registry().stations["KG-SR-01"]
    return base.model_copy(
        update={"parameters": tuple(parameters), "sampling_interval_s": interval_s}
    )


def run(
    where: Station,
    code: str,
    times: FloatArray,
    values: FloatArray,
    *,
    tick_s: float,
    settings: AlertSettings | None = None,
) -> dict[float, int]:
    """Feed one series tick by tick (each tick what arrived since the last); the flags the
    engine would have stored, by grid time (the last write of each cell wins)."""
    engine = Engine(
        settings or AlertSettings(),
        registry=Registry((where,), (), source="test"),
        profiles=load_profiles(),
        quality=load_quality_config(),
    )
    first = float(times[0])
    engine.build(first - tick_s)
    stored: dict[float, int] = {}
    pid = PARAMETERS[code].id
    for tick in np.arange(first, float(times[-1]) + tick_s, tick_s):
        new = (times > tick - tick_s) & (times <= tick)
        count = int(new.sum())
        batch = Batch(
            station_id=np.repeat(np.array([where.id]), count),
            parameter_id=np.full(count, pid),
            epoch=times[new],
            value=values[new],
            device_status=np.zeros(count, dtype=np.int64),
        )
        evaluation = engine.evaluate(batch, now=float(tick))
        for cells in evaluation.cells:
            for at, flag in zip(cells.epoch.tolist(), cells.flag.tolist(), strict=True):
                stored[at] = flag
    return stored


def flag_at(stored: dict[float, int], at: float, step: float) -> int:
    return stored[float(np.round(at / step) * step)]


def test_a_spike_at_a_station_reporting_slower_than_its_grid_is_judged() -> None:
    # Configured at 300 s, the logger reports every 617 s: no two readings in adjacent cells.
    where = station(["temp"], 300)
    times = START + 617.0 * np.arange(60)
    values = 29.0 + 0.05 * np.sin(np.arange(60))
    values[30] = 36.0  # a 7 °C spike
    stored = run(where, "temp", times, values, tick_s=300.0)
    flags = [flag_at(stored, t, 300.0) for t in times]
    # FAIL only the spike test gives (36 °C is within the gross range; the rate of change,
    # 41 °C/h, only makes it suspect, and the reading after it too).
    assert flags[30] == QCFlag.FAIL
    assert flags[31] == QCFlag.SUSPECT
    assert flags[1:30] + flags[32:-1] == [QCFlag.GOOD] * 56


def test_a_burst_of_stuck_values_fails_whole() -> None:
    # The real pond buoy: a temperature channel stuck at 55.353 °C for four readings.
    where = station(["temp"], 600)
    times = START + 600.0 * np.arange(40)
    values = 29.0 + 0.1 * np.sin(np.arange(40) / 3)
    values[20:24] = 55.353
    stored = run(where, "temp", times, values, tick_s=600.0)
    flags = [flag_at(stored, t, 600.0) for t in times]
    # FAIL is the spike test's (the gross range only makes 55 °C suspect).
    assert flags[20:24] == [QCFlag.FAIL] * 4
    # The reading after the burst falls 26 °C in 10 minutes: the rate of change's.
    assert flags[24] == QCFlag.SUSPECT
    assert flags[17:20] + flags[25:28] == [QCFlag.GOOD] * 6


def test_a_dead_ph_probe_fails() -> None:
    where = station(["ph"], 300)
    times = START + 300.0 * np.arange(24)
    values = 7.8 + 0.02 * np.sin(np.arange(24))
    values[12:] = 0.0
    stored = run(where, "ph", times, values, tick_s=300.0)
    assert {flag_at(stored, t, 300.0) for t in times[12:]} == {QCFlag.FAIL}


@pytest.fixture(scope="module")
def sand_island() -> tuple[FloatArray, FloatArray]:
    """CMOP Sand Island salinity (1-minute, 17 days; biofouling from 31 August 18:00)."""
    with data_file("cmop_sandisland_salinity_2001_attenuated.csv").open(encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    rows = list(csv.reader(lines[1:], quotechar="'", skipinitialspace=True))
    stamps = np.array(
        [datetime.strptime(r[0], "%Y-%m-%d %H:%M:%S").replace(tzinfo=PST).timestamp() for r in rows]
    )
    return np.round(stamps / 60) * 60, np.array([float(r[1]) for r in rows])


def test_the_running_engine_flags_biofouling(sand_island: tuple[FloatArray, FloatArray]) -> None:
    """The fouling check needs 86.9 h of history; the engine's window holds 26 h."""
    times, salinity = sand_island
    where = station(["sal"], 60)
    stored = run(where, "sal", times, salinity, tick_s=3600.0)
    fouled_from = datetime(2001, 8, 31, 18, tzinfo=PST).timestamp()
    healthy_until = datetime(2001, 8, 30, tzinfo=PST).timestamp()
    fouled = [f for t, f in stored.items() if t >= fouled_from]
    healthy = [f for t, f in stored.items() if t < healthy_until]
    bad = (QCFlag.SUSPECT, QCFlag.FAIL)
    # As the whole-series kernel test finds: most of the fouling, next to none of the tides.
    assert np.isin(fouled, bad).mean() > 0.5
    assert np.isin(healthy, bad).mean() < 0.01
    # And it is the fouling check that does it: with the engine's 26 h only, no flag.
    config = load_quality_config()
    check = config.checks(kind="shrimp_river", parameter="sal")["attenuated_signal_relative"]
    assert check.lookback_s > AlertSettings().history_s


def test_biofouling_is_judged_alike_on_the_coarse_history(
    sand_island: tuple[FloatArray, FloatArray],
) -> None:
    """A station sampling every 30 s: its 87-h history on a 5-minute grid gives the flags
    the sampling grid (ten times the memory) gives."""
    minutes, salinity = sand_island
    times = np.arange(minutes[0], minutes[-1] + 1, 30.0)
    measured = ~np.isnan(salinity)
    values = np.interp(times, minutes[measured], salinity[measured])
    where = station(["sal"], 30)
    fine = run(
        where, "sal", times, values, tick_s=3600.0, settings=AlertSettings(qc_history_step_s=30)
    )
    coarse = run(where, "sal", times, values, tick_s=3600.0)
    assert AlertSettings().qc_history_step_s == 300
    assert fine.keys() == coarse.keys()
    before = np.array(list(fine.values()))
    after = np.array([coarse[t] for t in fine])
    assert np.mean(before == after) > 0.999  # measured: 5 cells of 49,179 differ
    fouled_from = datetime(2001, 8, 31, 18, tzinfo=PST).timestamp()
    fouled = np.array(list(fine)) >= fouled_from
    bad = (QCFlag.SUSPECT, QCFlag.FAIL)
    assert np.isin(after[fouled], bad).mean() > 0.5
