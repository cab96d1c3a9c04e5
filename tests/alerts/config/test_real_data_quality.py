"""The packaged quality checks on two real, independently measured series.

The files live in the shared data folder beside the repository (see its README.md). If
they are missing the tests skip locally and fail under CI.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

import numpy as np
import numpy.typing as npt
import pytest

from alerts.config.quality import QualityConfig, load_quality_config
from alerts.kernels.chemistry import do_percent_saturation
from alerts.kernels.qartod import attenuated_signal_relative
from telemetry import QCFlag
from tests.alerts.real_data import COLUMNS, FloatArray, column, data_file, times_of

PST = timezone(timedelta(hours=-8))  # CMOP Sand Island times
KINDS = ("shrimp_river", "cage_sea", "effluent")


def flagged(flags: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    return (flags == QCFlag.SUSPECT) | (flags == QCFlag.FAIL)


def epoch(text: str, zone: timezone) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone).timestamp()


@pytest.fixture(scope="module")
def config() -> QualityConfig:
    return load_quality_config()


@pytest.fixture(scope="module")
def sand_island() -> tuple[FloatArray, FloatArray]:
    """CMOP Sand Island salinity on a regular 1-minute grid, NaN in the gaps."""
    with data_file("cmop_sandisland_salinity_2001_attenuated.csv").open(encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    rows = list(csv.reader(lines[1:], quotechar="'", skipinitialspace=True))
    stamps = np.array(
        [datetime.strptime(r[0], "%Y-%m-%d %H:%M:%S").replace(tzinfo=PST).timestamp() for r in rows]
    )
    salinity = np.array([float(r[1]) for r in rows])
    start = np.floor(stamps[0] / 60) * 60  # samples come a few seconds after each minute
    slot = np.round((stamps - start) / 60).astype(np.int64)
    values = np.full(slot[-1] + 1, np.nan)
    values[slot] = salinity
    return start + 60.0 * np.arange(values.size), values


@pytest.mark.parametrize("kind", KINDS)
def test_sand_island_biofouling_is_flagged(
    config: QualityConfig, sand_island: tuple[FloatArray, FloatArray], kind: str
) -> None:
    times, salinity = sand_island
    flags = config.evaluate(
        times=times, values=salinity[np.newaxis], parameters=["sal"], kinds=[kind]
    )[0]
    present = ~np.isnan(salinity)
    fouled = present & (times >= epoch("2001-08-31 18:00", PST))
    healthy = present & (times < epoch("2001-08-30 00:00", PST))
    # Fouling: most of it (65 %) flagged. Its first ~8 h cannot be: the trailing tidal
    # cycle still holds the last healthy high tide.
    assert flagged(flags[fouled]).mean() > 0.5
    # Healthy tides: next to nothing (the spike test marks 0.3 % of 1-minute noise).
    assert flagged(flags[healthy]).mean() < 0.01


def test_sand_island_attenuation_check_alone(
    config: QualityConfig, sand_island: tuple[FloatArray, FloatArray]
) -> None:
    times, salinity = sand_island
    check = config.checks(kind="shrimp_river", parameter="sal")["attenuated_signal_relative"]
    flags = check.run(times, salinity[np.newaxis], last=None)[0]
    present = ~np.isnan(salinity)
    warmed_up = times >= times[0] + check.lookback_s
    healthy = present & warmed_up & (times < epoch("2001-08-30 00:00", PST))
    fouled = present & (times >= epoch("2001-08-31 18:00", PST))
    assert not flagged(flags[healthy]).any()
    assert (flags[healthy] == QCFlag.GOOD).mean() > 0.9  # really evaluated, not skipped
    assert flagged(flags[fouled]).mean() > 0.5
    # the engine's incremental call agrees on the last hour
    newest = check.run(times, salinity[np.newaxis], last=60)[0]
    assert np.array_equal(newest, flags[-60:])


def passed(table: dict[str, list[str]], name: str) -> npt.NDArray[np.bool_]:
    """Rows the provider's QC passed (flag <0>)."""
    return np.array([f.startswith("<0>") for f in table[f"F_{name}"]])


@pytest.mark.parametrize("kind", KINDS)
def test_grand_bay_turbidity_spike_the_provider_rejected(
    config: QualityConfig, grand_bay: dict[str, list[str]], kind: str
) -> None:
    turbidity = column(grand_bay, "Turb")
    spike_at = grand_bay["DateTimeStamp"].index("8/17/2021 17:45")
    assert turbidity[spike_at] == 642
    flags = config.evaluate(
        times=times_of(grand_bay), values=turbidity[np.newaxis], parameters=["turb"], kinds=[kind]
    )[0]
    assert flags[spike_at] == QCFlag.FAIL
    assert flags[spike_at - 1] == flags[spike_at + 1] == QCFlag.GOOD  # its neighbours are fine


@pytest.mark.parametrize("kind", KINDS)
def test_grand_bay_data_the_provider_passed_is_left_alone(
    config: QualityConfig, grand_bay: dict[str, list[str]], kind: str
) -> None:
    values = np.vstack([column(grand_bay, name) * factor for name, (_, factor) in COLUMNS.items()])
    parameters = [code for code, _ in COLUMNS.values()]
    flags = config.evaluate(
        times=times_of(grand_bay), values=values, parameters=parameters, kinds=[kind] * 6
    )
    for row, name in enumerate(COLUMNS):
        good = passed(grand_bay, name)
        assert flagged(flags[row, good]).mean() < 0.01, name
    # the hypoxia the provider marked (CDA) is real: QC must not mute its alerts
    hypoxia = np.array(["(CDA)" in f for f in grand_bay["F_DO_mgl"]])
    assert hypoxia.sum() >= 50
    assert not flagged(flags[parameters.index("do"), hypoxia]).any()


def test_grand_bay_do_saturation_agrees_with_the_provider(grand_bay: dict[str, list[str]]) -> None:
    good = passed(grand_bay, "DO_Pct")
    for name in ("DO_mgl", "Temp", "Sal"):
        good &= passed(grand_bay, name)
    ours = do_percent_saturation(
        column(grand_bay, "DO_mgl"), column(grand_bay, "Temp"), column(grand_bay, "Sal")
    )[good]
    theirs = column(grand_bay, "DO_Pct")[good]
    assert good.sum() > 4000
    # within 2 %-points everywhere (inputs are rounded to 0.1), 0.5 on average
    assert np.abs(ours - theirs).max() < 2.0
    assert np.abs(ours - theirs).mean() < 0.5


def test_too_short_a_history_for_the_fouling_check_is_not_evaluated_at_once(
    config: QualityConfig, sand_island: tuple[FloatArray, FloatArray]
) -> None:
    """The engine's 26-h window: the check answers without computing, as the kernel would."""
    times, salinity = sand_island
    check = config.checks(kind="shrimp_river", parameter="sal")["attenuated_signal_relative"]
    limits = check.model_dump(exclude={"source"})
    for minutes in (26 * 60, 31 * 60, 32 * 60):  # 31 h is about the shortest evaluable
        t, x = times[:minutes], salinity[np.newaxis, :minutes]
        expected = attenuated_signal_relative(x, t, last=None, **limits)
        assert np.array_equal(check.run(t, x, last=None), expected)
