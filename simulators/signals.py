"""Physically plausible water-quality signals for a station, vectorised over time.

Every value is a pure function of (seed, station id, time), so a day generated in one call
equals the same day generated sample by sample. The models, per station kind:

* temperature: seasonal mean (warmest late April) and a diel cycle with the minimum near
  06:00 and the maximum near 15:00 local solar time; rain cools the water a little;
* dissolved oxygen: the periodic solution of dDO/dt = P(t) - R - k·DO' (photosynthesis P
  from daylight, constant community respiration R, reaeration k), which puts the peak in
  the afternoon and the minimum just before dawn; cloudy and rainy days weaken the swing;
* pH follows DO (photosynthesis draws CO2 down and raises pH);
* salinity: seasonal mean (salinity intrusion peaks in the dry season) plus a tide that is
  mostly diurnal on the Gulf of Thailand coast (K1, O1 and a weaker M2), freshened by rain;
  conductivity is the specific conductance (25 °C) of that salinity (PSS-78);
* turbidity rises with tidal currents and rain; effluent stations follow working-hours
  discharge with batch pulses (flow, COD, TSS, NH4+, TN, TP ...).

Rain falls on random afternoons (more often in the May-November wet season); scenario
:data:`Episode` objects add rain, oxygen crashes and effluent pulses on demand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Final

import numpy as np

from simulators.kinds import KIND_MODELS, NOISE, VALID, KindModel
from simulators.noise import FloatArray, normal, stream_key, uniform
from stations import Station, StationKind

_HOUR: Final = 3600.0
_DAY: Final = 86_400.0
_YEAR_DAYS: Final = 365.2422
_TIDES_H: Final = (("K1", 23.9345, 1.0), ("O1", 25.8193, 0.75), ("M2", 12.4206, 0.35))
_TIDE_AMPLITUDE_M: Final = 0.32  # K1 amplitude near Rach Gia; O1 and M2 scale from it


@dataclass(frozen=True, slots=True)
class Rain:
    """A rain event: salinity falls by up to ``salinity_drop`` ‰ and turbidity jumps."""

    start: float
    duration: float
    salinity_drop: float = 5.0
    turbidity_rise: float = 60.0


@dataclass(frozen=True, slots=True)
class DoCrash:
    """An oxygen crash (e.g. an algal die-off): an extra sink of ``rate`` mg/L per hour."""

    start: float
    duration: float
    rate: float = 0.6


@dataclass(frozen=True, slots=True)
class EffluentPulse:
    """A discharge: effluent concentrations multiplied by ``factor``, then flushed out."""

    start: float
    duration: float
    factor: float = 4.0


Episode = Rain | DoCrash | EffluentPulse


@dataclass(frozen=True, slots=True)
class _State:
    """Intermediate arrays the per-code formulas share."""

    model: KindModel
    kind: StationKind
    daily: FloatArray
    temp: FloatArray
    do: FloatArray
    ph: FloatArray
    sal: FloatArray
    tide_m: FloatArray
    current: FloatArray
    turb: FloatArray
    load: FloatArray
    pulse: FloatArray
    night: FloatArray


def _window(t: FloatArray, start: float, end: float, edge: float) -> FloatArray:
    """A smooth on/off window (logistic edges of width ``edge``)."""
    rise = np.clip((t - start) / edge, -30.0, 30.0)
    fall = np.clip((end - t) / edge, -30.0, 30.0)
    result: FloatArray = 1.0 / ((1.0 + np.exp(-rise)) * (1.0 + np.exp(-fall)))
    return result


def _diel_temperature(h: FloatArray) -> FloatArray:
    """0 at 06:00, 1 at 15:00: warming for 9 h, cooling for 15 h (half-cosine pieces)."""
    warming = (h >= 6.0) & (h < 15.0)
    elapsed = np.where(warming, (h - 6.0) / 9.0, ((h - 15.0) % 24.0) / 15.0)
    rising = (1.0 - np.cos(np.pi * elapsed)) / 2.0
    result: FloatArray = np.where(warming, rising, 1.0 - rising)
    return result


@lru_cache(maxsize=1)
def _oxygen_cycle() -> FloatArray:
    """One day of the normalised DO anomaly (-1 pre-dawn ... 1 afternoon), per minute.

    Solves dx/dt = P(t) - R - k·x for its periodic solution in Fourier space:
    x_n = f_n / (k + i·n·ω). Light from 05:30 to 18:30 solar, reaeration k = 0.05 per hour:
    slow enough that DO keeps falling steadily all night, as measured nights do (Grand Bay
    2021, see alerts.dawn), instead of levelling off soon after dusk.
    """
    hours = np.arange(1440) / 60.0
    light = np.clip(np.sin(np.pi * (hours - 5.5) / 13.0), 0.0, None) ** 0.7
    spectrum = np.fft.rfft(light - light.mean())
    omega = 2.0 * np.pi * np.arange(spectrum.size) / 24.0
    spectrum[1:] /= 0.05 + 1j * omega[1:]
    spectrum[0] = 0.0
    cycle = np.fft.irfft(spectrum, hours.size)
    low, high = cycle.min(), cycle.max()
    result: FloatArray = (2.0 * cycle - (high + low)) / (high - low)
    return result


def _oxygen_shape(solar_h: FloatArray) -> FloatArray:
    cycle = _oxygen_cycle()
    result: FloatArray = np.interp(solar_h, np.arange(cycle.size) / 60.0, cycle, period=24.0)
    return result


def _daily_factor(key: int, solar_day: FloatArray) -> FloatArray:
    """A random factor in [0, 1) per day, linearly interpolated between noons."""
    anchor = np.floor(solar_day - 0.5)
    weight = solar_day - 0.5 - anchor
    first = uniform(key, anchor.astype(np.int64))
    second = uniform(key, anchor.astype(np.int64) + 1)
    result: FloatArray = first * (1.0 - weight) + second * weight
    return result


def _rain(
    key: int, t: FloatArray, solar_day: FloatArray, shift_s: float, episodes: Iterable[Rain]
) -> tuple[FloatArray, FloatArray]:
    """Freshening (slow, in ‰ per unit drop) and turbidity (fast) responses to rain.

    Random showers start between 13:00 and 18:00 solar on some days, more often in the
    wet season (about 45 % of days in September, 8 % in March).
    """
    days = np.floor(solar_day)[:, None] - np.arange(4.0)[None, :]
    counters = days.astype(np.int64)
    doy = (days + 10_957.0) % _YEAR_DAYS  # day 0 of the year 2000 is epoch day 10957
    chance = 0.265 + 0.185 * np.cos(2.0 * np.pi * (doy - 250.0) / _YEAR_DAYS)
    happens = uniform(stream_key(key, "rain"), counters) < chance
    start = (days + (13.0 + 5.0 * uniform(stream_key(key, "start"), counters)) / 24.0) * _DAY
    start -= shift_s
    duration = (0.5 + 2.5 * uniform(stream_key(key, "length"), counters)) * _HOUR
    size = np.where(happens, 0.2 + 0.8 * uniform(stream_key(key, "size"), counters), 0.0)
    tt = t[:, None]
    ramp = np.clip((tt - start) / duration, 0.0, 1.0)
    after = np.clip(tt - start - duration, 0.0, None)
    fresh = (size * ramp * np.exp(-after / (24.0 * _HOUR))).sum(axis=1)
    turbid = (size * ramp * np.exp(-after / (3.0 * _HOUR))).sum(axis=1)
    for ep in episodes:
        ramp1 = np.clip((t - ep.start) / ep.duration, 0.0, 1.0)
        after1 = np.clip(t - ep.start - ep.duration, 0.0, None)
        fresh = fresh + ep.salinity_drop * ramp1 * np.exp(-after1 / (24.0 * _HOUR))
        turbid = turbid + ep.turbidity_rise * ramp1 * np.exp(-after1 / (3.0 * _HOUR))
    return fresh, turbid


def _tide(t: FloatArray, lag_s: float) -> tuple[FloatArray, FloatArray]:
    """Water level anomaly (m) and normalised current (level change rate, -1..1)."""
    hours = (t - lag_s) / _HOUR
    level = np.zeros_like(t)
    rate = np.zeros_like(t)
    norm = 0.0
    for _, period, weight in _TIDES_H:
        omega = 2.0 * np.pi / period
        level += weight * _TIDE_AMPLITUDE_M * np.cos(omega * hours)
        rate -= weight * omega * np.sin(omega * hours)
        norm += weight * omega
    return level, rate / norm


def _effluent_load(key: int, clock_h: FloatArray, clock_day: FloatArray) -> FloatArray:
    """Relative discharge: night base, working hours 07:00-11:30 and 13:00-17:00, batches."""
    shift = _window(clock_h, 7.0, 11.5, 0.25) + _window(clock_h, 13.0, 17.0, 0.25)
    day = np.floor(clock_day).astype(np.int64)
    sunday = ((day + 4) % 7) == 6  # epoch day 0 was a Thursday
    load = 0.3 + 0.7 * shift * np.where(sunday, 0.4, 1.0)
    for batch in range(2):
        centre = 8.0 + 8.0 * uniform(stream_key(key, "batch", str(batch)), day)
        size = 0.3 + 0.5 * uniform(stream_key(key, "batch-size", str(batch)), day)
        load = load + size * np.exp(-0.5 * ((clock_h - centre) / 0.4) ** 2)
    result: FloatArray = load
    return result


def _pulse(t: FloatArray, episodes: Iterable[EffluentPulse]) -> FloatArray:
    """Concentration multiplier: quick rise (15 min), plateau, 30-min exponential flush."""
    factor = np.ones_like(t)
    for ep in episodes:
        rise = np.clip((t - ep.start) / 900.0, 0.0, 1.0)
        after = np.clip(t - ep.start - ep.duration, 0.0, None)
        factor += (ep.factor - 1.0) * rise * np.exp(-after / 1800.0)
    return factor


def _oxygen_sink(t: FloatArray, episodes: Iterable[DoCrash]) -> FloatArray:
    """Extra oxygen removed (mg/L): grows linearly, recovers over ~3 h after the episode."""
    sink = np.zeros_like(t)
    for ep in episodes:
        spent = np.clip(t - ep.start, 0.0, ep.duration) / _HOUR
        after = np.clip(t - ep.start - ep.duration, 0.0, None)
        sink += ep.rate * spent * np.exp(-after / (3.0 * _HOUR))
    return sink


@lru_cache(maxsize=1)
def _conductance_table() -> tuple[FloatArray, FloatArray]:
    """Practical salinity (PSS-78 at 25 °C) against conductivity ratio, for inversion."""
    ratio = np.linspace(0.0, 1.35, 2701)
    root = np.sqrt(ratio)
    a = (0.0080, -0.1692, 25.3851, 14.0941, -7.0261, 2.7081)
    b = (0.0005, -0.0056, -0.0066, -0.0375, 0.0636, -0.0144)
    dt = 25.0 - 15.0
    polyval = np.polynomial.polynomial.polyval
    sal_grid: FloatArray = polyval(root, a) + dt / (1.0 + 0.0162 * dt) * polyval(root, b)
    return sal_grid, ratio


def specific_conductance(salinity: FloatArray) -> FloatArray:
    """Return the conductivity at 25 °C (µS/cm) of practical salinity (PSS-78, inverted)."""
    sal_grid, ratio = _conductance_table()
    conductivity_35_25 = 42_914.0 * 1.2365  # µS/cm of S=35 water at 25 °C
    result: FloatArray = np.interp(salinity, sal_grid, ratio) * conductivity_35_25
    return result


_Formula = Callable[[_State], FloatArray]


def _level(s: _State, code: str) -> float:
    return s.model.levels[code]


def _concentration(code: str) -> _Formula:
    """Effluent: driven by the discharge load; ambient: higher at night (no algal uptake)."""

    def formula(s: _State) -> FloatArray:
        if s.kind is StationKind.EFFLUENT:
            return _level(s, code) * s.load * s.pulse
        return _level(s, code) * (1.0 + 0.3 * s.night) * (0.85 + 0.3 * s.daily)

    return formula


def _tss(s: _State) -> FloatArray:
    if s.kind is StationKind.EFFLUENT:
        return s.model.levels["tss"] * s.load * s.pulse
    return 1.3 * s.turb + 2.0


_FORMULAS: Final[Mapping[str, _Formula]] = MappingProxyType(
    {
        "temp": lambda s: s.temp,
        "ph": lambda s: s.ph,
        "do": lambda s: s.do,
        "sal": lambda s: s.sal,
        "cond": lambda s: specific_conductance(s.sal),
        "turb": lambda s: s.turb,
        "tss": _tss,
        "chla": lambda s: _level(s, "chla") * (1.0 + 0.3 * (1.0 - s.night)) * (0.7 + 0.6 * s.daily),
        "h2s": lambda s: _level(s, "h2s") * (1.0 + 2.0 * np.clip(4.0 - s.do, 0.0, None)),
        "alk": lambda s: _level(s, "alk") * s.sal / (s.sal + 1.5),
        "flow": lambda s: (
            _level(s, "flow") * s.load * (1.0 + 0.2 * (s.pulse - 1.0))
            if s.kind is StationKind.EFFLUENT
            else _level(s, "flow") * (0.2 + np.abs(s.current))
        ),
        "level": lambda s: 1.5 + s.tide_m,
        **{
            code: _concentration(code)
            for code in ("tan", "nh4", "no2", "no3", "po4", "tn", "tp", "cod", "bod5", "toc")
        },
        "color": _concentration("color"),
        "cl2": _concentration("cl2"),
    }
)


def _local_offset(station: Station, epoch: float) -> float:
    offset = datetime.fromtimestamp(epoch, UTC).astimezone(station.zone).utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


def simulate(
    station: Station,
    epochs: FloatArray,
    *,
    seed: int,
    episodes: Iterable[Episode] = (),
) -> dict[str, FloatArray]:
    """Return the noisy sensor values of every parameter ``station`` measures.

    Args:
        station: The station (its id keys the random streams; its kind picks the model).
        epochs: Sampling times in seconds since the epoch (any shape-(n,) float array).
        seed: The run's seed.
        episodes: Scenario rain, oxygen crashes and effluent pulses to add.

    Returns:
        Values by parameter code, each a float64 array like ``epochs``, already clipped to
        physically valid ranges (not yet rounded to :data:`RESOLUTION`).
    """
    t = np.asarray(epochs, dtype=np.float64)
    episodes = tuple(episodes)
    model = KIND_MODELS[station.kind]
    key = stream_key(seed, station.id)
    site = uniform(stream_key(key, "site"), np.arange(8, dtype=np.int64))
    solar_shift = station.longitude / 15.0 * _HOUR
    solar_day = (t + solar_shift) / _DAY
    solar_h = (solar_day % 1.0) * 24.0
    clock_day = (t + _local_offset(station, float(t[0]) if t.size else 0.0)) / _DAY
    season = np.cos(2.0 * np.pi * ((solar_day + 10_957.0) % _YEAR_DAYS - 115.0) / _YEAR_DAYS)
    daily = _daily_factor(stream_key(key, "weather"), solar_day)
    fresh, turbid = _rain(
        key, t, solar_day, solar_shift, (e for e in episodes if isinstance(e, Rain))
    )
    rain_scale = model.rain_fresh / 4.0

    temp = (
        model.temp_mean
        + 1.0 * season
        + 0.6 * (daily - 0.5)
        + model.temp_range * (_diel_temperature(solar_h) - 0.5)
        - 0.4 * np.clip(turbid / 60.0, 0.0, 2.0)
    )
    tide_m, current = _tide(t, site[0] * 2.0 * _HOUR)
    sal = (
        model.sal_mean
        + 4.0 * (site[1] - 0.5) * rain_scale
        + model.sal_season * season
        + model.sal_per_m * tide_m
        - model.rain_fresh * fresh
    )
    oxygen = _oxygen_shape(solar_h)
    night = (1.0 - oxygen) / 2.0
    load = np.ones_like(t)
    pulse = _pulse(t, (e for e in episodes if isinstance(e, EffluentPulse)))
    if station.kind is StationKind.EFFLUENT:
        load = _effluent_load(key, (clock_day % 1.0) * 24.0, clock_day)
    do_mean = model.do_mean + 0.8 * (site[2] - 0.5)
    cloud = np.clip(turbid / 30.0, 0.0, 0.5)
    swing = model.do_amplitude * (0.85 + 0.3 * site[3]) * (0.75 + 0.35 * daily) * (1.0 - cloud)
    do = do_mean + swing * oxygen - 0.6 * (load * pulse - 1.0)
    do = do - _oxygen_sink(t, (e for e in episodes if isinstance(e, DoCrash)))
    do = np.clip(do, *VALID["do"])
    ph = model.ph_mean + 0.2 * (site[4] - 0.5) + model.ph_per_do * (do - do_mean)
    ph = ph - 0.15 * np.clip(fresh, 0.0, 2.0) - 0.1 * (load * pulse - 1.0)
    turb = model.turb_base * (0.8 + 0.4 * site[5]) * (1.0 + 0.4 * np.abs(current))
    turb = turb * load * pulse + turbid * rain_scale
    counters = np.round(t).astype(np.int64)
    # The probe measures conductivity and derives salinity: both carry the same noise.
    sal = np.clip(sal + NOISE["sal"] * normal(stream_key(key, "sal"), counters), *VALID["sal"])

    state = _State(
        model=model,
        kind=station.kind,
        daily=daily,
        temp=temp,
        do=do,
        ph=ph,
        sal=sal,
        tide_m=tide_m,
        current=current,
        turb=turb,
        load=load,
        pulse=pulse,
        night=night,
    )
    values: dict[str, FloatArray] = {}
    for code in station.parameters:
        clean = _FORMULAS[code](state)
        if code in ("sal", "cond"):
            values[code] = clean
            continue
        noise = normal(stream_key(key, code), counters)
        sigma = NOISE.get(code)
        noisy = clean + sigma * noise if sigma is not None else clean * (1.0 + 0.03 * noise)
        low, high = VALID.get(code, (0.0, math.inf))
        values[code] = np.clip(noisy, low, high)
    return values
