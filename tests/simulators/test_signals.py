"""Signal models: determinism, diel and tidal shape, valid ranges, scenario episodes."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from simulators import DoCrash, EffluentPulse, Rain, simulate
from simulators.noise import normal, stream_key, uniform
from simulators.signals import specific_conductance
from stations import Station, load_registry

FIVE_MIN = 300.0


def _station(station_id: str) -> Station:
    return load_registry().stations[station_id]


def _day(date: str, *, days: int = 1, step: float = FIVE_MIN) -> np.ndarray:
    start = datetime.fromisoformat(f"{date}T00:00:00+07:00").timestamp()
    return start + np.arange(0.0, days * 86_400.0, step)


def _local_hour(epochs: np.ndarray, index: int) -> float:
    return float((epochs[index] + 7 * 3600) % 86_400 / 3600)


@pytest.mark.parametrize("station_id", ["KG-SR-01", "KG-CS-01", "KG-EF-01"])
def test_same_seed_same_values_and_other_seed_differs(station_id: str) -> None:
    station, t = _station(station_id), _day("2026-11-22")
    first = simulate(station, t, seed=7)
    again = simulate(station, t, seed=7)
    other = simulate(station, t, seed=8)
    assert set(first) == set(station.parameters)
    for code in station.parameters:
        np.testing.assert_array_equal(first[code], again[code])
        assert not np.array_equal(first[code], other[code])


def test_values_do_not_depend_on_how_time_is_chunked() -> None:
    station, t = _station("KG-SR-02"), _day("2026-11-22")
    whole = simulate(station, t, seed=1)
    pieces = [simulate(station, t[i : i + 1], seed=1) for i in range(0, t.size, 37)]
    for offset, piece in zip(range(0, t.size, 37), pieces, strict=True):
        for code, values in piece.items():
            assert values[0] == whole[code][offset]


@pytest.mark.parametrize("station_id", ["KG-SR-01", "KG-SR-02", "KG-SR-03"])
@pytest.mark.parametrize("date", ["2026-01-10", "2026-04-20", "2026-07-15", "2026-11-22"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shrimp_do_minimum_at_dawn_maximum_in_afternoon(
    station_id: str, date: str, seed: int
) -> None:
    t = _day(date)
    do = simulate(_station(station_id), t, seed=seed)["do"]
    # Slow reaeration (0.05 per hour, which gives night declines as steep as measured
    # ones): DO falls until photosynthesis catches up just after sunrise and peaks late.
    assert 3.0 <= _local_hour(t, int(do.argmin())) <= 7.0
    assert 13.0 <= _local_hour(t, int(do.argmax())) <= 17.75
    assert 6.5 <= do.max() <= 10.5  # supersaturated afternoon
    assert 3.0 <= do.min() <= 5.5  # low but not (yet) critical at dawn


@pytest.mark.parametrize("station_id", ["KG-SR-01", "KG-CS-02"])
def test_temperature_coolest_near_dawn_warmest_mid_afternoon(station_id: str) -> None:
    t = _day("2026-11-22")
    temp = simulate(_station(station_id), t, seed=3)["temp"]
    assert 4.5 <= _local_hour(t, int(temp.argmin())) <= 7.5
    assert 13.5 <= _local_hour(t, int(temp.argmax())) <= 16.5
    assert 26.0 <= temp.min() < temp.max() <= 33.0


@pytest.mark.parametrize("station_id", ["KG-SR-01", "KG-SR-02"])
def test_shrimp_ph_follows_do(station_id: str) -> None:
    values = simulate(_station(station_id), _day("2026-11-22", days=2), seed=5)
    assert np.corrcoef(values["do"], values["ph"])[0, 1] > 0.9
    assert 7.2 <= values["ph"].min() < values["ph"].max() <= 8.6


@pytest.mark.parametrize("station_id", ["KG-SR-01", "KG-SR-03", "KG-CS-01"])
def test_salinity_tide_is_mostly_diurnal(station_id: str) -> None:
    t = _day("2026-03-01", days=28, step=1800.0)  # dry season: few showers
    sal = simulate(_station(station_id), t, seed=11)["sal"]
    spectrum = np.abs(np.fft.rfft(sal - sal.mean()))
    cycles_per_day = np.fft.rfftfreq(t.size, d=1800.0 / 86_400.0)
    tidal = cycles_per_day > 0.5  # leave out the slow seasonal and rain terms
    peak = cycles_per_day[tidal][int(spectrum[tidal].argmax())]
    assert 0.9 <= peak <= 1.1
    diurnal = spectrum[(cycles_per_day > 0.85) & (cycles_per_day < 1.15)].sum()
    semidiurnal = spectrum[(cycles_per_day > 1.8) & (cycles_per_day < 2.1)].sum()
    assert diurnal > 2 * semidiurnal


@pytest.mark.parametrize(
    ("station_id", "low", "high"), [("KG-SR-02", 8.0, 32.0), ("KG-CS-02", 29.0, 34.0)]
)
def test_salinity_range_by_kind(station_id: str, low: float, high: float) -> None:
    sal = simulate(_station(station_id), _day("2026-01-01", days=365, step=3 * 3600), seed=2)["sal"]
    assert sal.min() >= low
    assert sal.max() <= high


@pytest.mark.parametrize(("salinity", "expected"), [(0.0, 0.0), (35.0, 42_914.0 * 1.2365)])
def test_specific_conductance_of_reference_waters(salinity: float, expected: float) -> None:
    # PSS-78: S = 35 is conductivity ratio 1 at 15 °C; 42.914 mS/cm x r_t(25 °C) = 1.2365
    assert specific_conductance(np.array([salinity]))[0] == pytest.approx(expected, abs=30.0)


def test_conductivity_follows_salinity() -> None:
    values = simulate(_station("KG-SR-01"), _day("2026-11-22", days=3), seed=1)
    assert np.corrcoef(values["sal"], values["cond"])[0, 1] > 0.99
    assert 12_000 < values["cond"].min() < values["cond"].max() < 45_000


@pytest.mark.parametrize("station_id", [s for s in load_registry().stations])
def test_every_value_is_physically_valid_all_year(station_id: str) -> None:
    values = simulate(_station(station_id), _day("2026-01-01", days=365, step=3600), seed=9)
    limits = {"temp": (20, 36), "ph": (6, 9.5), "do": (0.05, 15), "sal": (0, 40)}
    for code, series in values.items():
        assert np.isfinite(series).all()
        low, high = limits.get(code, (0.0, 60_000.0))
        assert series.min() >= low, code
        assert series.max() <= high, code


def test_effluent_discharges_in_working_hours() -> None:
    t = _day("2026-11-23", days=5)  # Monday to Friday
    cod = simulate(_station("KG-EF-02"), t, seed=4)["cod"]
    hours = (t + 7 * 3600) % 86_400 / 3600
    working = cod[(hours >= 8) & (hours < 11)].mean()
    night = cod[(hours >= 0) & (hours < 5)].mean()
    assert working > 2.0 * night


def test_rain_freshens_and_muddies() -> None:
    station, t = _station("KG-SR-01"), _day("2026-11-22")
    rain = Rain(start=t[120], duration=7200.0, salinity_drop=5.0, turbidity_rise=60.0)
    dry, wet = simulate(station, t, seed=1), simulate(station, t, seed=1, episodes=[rain])
    np.testing.assert_array_equal(dry["sal"][:121], wet["sal"][:121])
    after = slice(150, 160)
    assert (dry["sal"][after] - wet["sal"][after]).min() > 3.0
    assert (wet["turb"][after] - dry["turb"][after]).min() > 20.0


def test_do_crash_is_an_extra_sink_growing_at_its_rate() -> None:
    station, t = _station("KG-SR-02"), _day("2026-11-22")
    crash = DoCrash(start=t[216], duration=6 * 3600.0, rate=0.5)  # 18:00 to 24:00
    base, crashed = simulate(station, t, seed=1), simulate(station, t, seed=1, episodes=[crash])
    np.testing.assert_array_equal(base["do"][:217], crashed["do"][:217])
    # two hours into the crash: 1 mg/L less (to the noise's last bit, both share it)
    assert base["do"][240] - crashed["do"][240] == pytest.approx(1.0, abs=1e-9)


def test_effluent_pulse_multiplies_concentrations() -> None:
    station, t = _station("KG-EF-01"), _day("2026-11-22")
    pulse = EffluentPulse(start=t[168], duration=7200.0, factor=4.0)  # 14:00 to 16:00
    base, pulsed = simulate(station, t, seed=1), simulate(station, t, seed=1, episodes=[pulse])
    np.testing.assert_array_equal(base["cod"][:169], pulsed["cod"][:169])
    ratio = pulsed["cod"][172:192] / base["cod"][172:192]
    np.testing.assert_allclose(ratio, 4.0, rtol=1e-9)


@pytest.mark.parametrize(("names", "other"), [(("KG-SR-01",), ("KG-SR-02",)), ((), ("x",))])
def test_stream_keys_are_stable_and_distinct(
    names: tuple[str, ...], other: tuple[str, ...]
) -> None:
    assert stream_key(1, *names) == stream_key(1, *names)
    assert stream_key(1, *names) != stream_key(1, *other)
    assert stream_key(1, *names) != stream_key(2, *names)


def test_uniform_and_normal_draws_have_the_right_distribution() -> None:
    counters = np.arange(200_000, dtype=np.int64)
    u = uniform(stream_key(0, "u"), counters)
    z = normal(stream_key(0, "z"), counters)
    assert u.min() >= 0.0
    assert u.max() < 1.0
    assert u.mean() == pytest.approx(0.5, abs=0.005)
    assert z.mean() == pytest.approx(0.0, abs=0.01)
    assert z.std() == pytest.approx(1.0, abs=0.01)
