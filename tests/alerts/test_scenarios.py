"""The simulators' scenarios played through the whole alert engine, tick by tick.

Each scenario run starts at ``now``, one of several times of day, after a day of history:
its scripted event happens at the clock time the scenario names whenever the run starts,
and the engine, ticking from the start, sees it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from alerts.states import Severity
from simulators import DoCrash, EffluentPulse, compile_scenarios, load_scenario, simulate
from stations import load_registry
from tests.alerts.simulated import DAY, engine_over
from tests.support.times import LOCAL_ZONE, at_times_of_day

REGISTRY = load_registry()
STEP = 300.0


def samples(start: float, end: float) -> npt.NDArray[np.float64]:
    """The 5-minute sampling instants of a run from ``start`` to ``end``, after a day of
    history (``engine_over`` ticks from the first sample at or after ``start``)."""
    first = np.ceil((start - 86_400.0) / STEP) * STEP
    return np.arange(first, end, STEP)


def held_below(
    times: npt.NDArray[np.float64], values: npt.NDArray[np.float64], limit: float, *, hold: float
) -> float:
    """The first instant from which ``values`` stay below ``limit`` for ``hold`` seconds."""
    runs = sliding_window_view(values < limit, int(hold // STEP) + 1).all(axis=1)
    assert runs.any(), f"never below {limit} for {hold:.0f} s"
    return float(times[np.argmax(runs)])


def local(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, LOCAL_ZONE)


@at_times_of_day
def test_a_night_do_crash_is_warned_before_do_reaches_3_and_then_alerted(now: datetime) -> None:
    station = REGISTRY.stations["KG-SR-02"]
    start = now.timestamp()
    script = compile_scenarios([load_scenario("do_crash_tonight")], REGISTRY, start=start)
    (crash,) = script["KG-SR-02"].episodes
    assert isinstance(crash, DoCrash)
    # "tonight 18:30": the evening of the start's date, whatever hour the run starts at.
    assert local(crash.start) == now.replace(hour=18, minute=30)
    noon = (local(crash.start) + timedelta(days=1)).replace(hour=12, minute=0).timestamp()
    times = samples(start, noon)
    series = simulate(station, times, seed=1, episodes=script["KG-SR-02"].episodes)
    do_after = series["do"][DAY:]
    below_3_5, below_3 = (float(times[DAY:][np.argmax(do_after < x)]) for x in (3.5, 3.0))
    # The rule's 30 minutes below 3.5 (a noisy dip back above it starts them again).
    held_3_5 = held_below(times[DAY:], do_after, 3.5, hold=1800)
    episodes = engine_over(station, times, series)

    forecast = [e for e in episodes if e.rule_id == "forecast.do.dawn"]
    warned = min(at for e in forecast for at, tier in e.escalations if tier == Severity.WARNING)
    assert below_3 - warned >= 3 * 3600, "the forecast warned less than 3 h ahead"
    assert 19 <= local(warned).hour <= 22  # in the evening, while there is time to act

    # Measured DO then takes over: a warning once below 3.5 mg/L (QCVN 02-19) for 30
    # minutes, hours after the forecast's.
    low = [e for e in episodes if e.rule_id == "shrimp.do.low"]
    measured = min(at for e in low for at, tier in e.escalations if tier == Severity.WARNING)
    assert below_3_5 <= measured <= held_3_5 + 1800
    assert measured - warned >= 3 * 3600
    # The crash itself is not mistaken for a sensor fault.
    assert not [e for e in episodes if e.rule_id == "maintenance.do"]
    # Daylight brings DO back: the measured-DO alert resolves by the next morning.
    assert any(e.resolved_at is not None for e in low)


@at_times_of_day
def test_the_cod_pulse_at_14_00_raises_the_effluent_alert_during_the_pulse(now: datetime) -> None:
    station = REGISTRY.stations["KG-EF-01"]
    start = now.timestamp()
    script = compile_scenarios([load_scenario("cod_pulse")], REGISTRY, start=start)
    (pulse,) = script["KG-EF-01"].episodes
    assert isinstance(pulse, EffluentPulse)
    # "14:00": the first 14:00 at or after the start.
    assert local(pulse.start).hour == 14
    assert 0 <= pulse.start - start < 86_400
    times = samples(start, pulse.start + pulse.duration + 3600)
    series = simulate(station, times, seed=1, episodes=script["KG-EF-01"].episodes)
    episodes = engine_over(station, times, series)

    cod = [e for e in episodes if e.rule_id == "effluent.cod.high"]
    assert cod, "the pulse raised no COD alert"
    # Raised by the pulse (over QCVN 40:2011 column B), not by the ordinary working day.
    assert all(pulse.start < e.opened_at <= pulse.start + pulse.duration for e in cod)
    assert max(e.severity for e in cod) >= Severity.WARNING
