"""A stressed shrimp station raises the disease-risk alert, naming the factors that drove it."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.engine import Engine
from alerts.kernels.window import Batch
from alerts.settings import AlertSettings
from stations import Registry, load_registry
from telemetry import PARAMETERS

NOW = 1_795_000_200.0  # on the 5-minute grid
STRESS = {
    "temp": 34.5,
    "ph": 8.4,
    "do": 2.4,
    "sal": 12.0,
    "cond": 20_000.0,
    "turb": 30.0,
    "tan": 1.5,
    "no2": 0.1,
}


def test_disease_risk_alert_names_its_factors() -> None:
    station = load_registry().stations["KG-SR-01"]
    engine = Engine(
        AlertSettings(history_s=86_400.0),
        registry=Registry((station,), (), source="test"),
        profiles=load_profiles(),
        quality=load_quality_config(),
    )
    engine.build(NOW)
    window = engine.windows[0]
    rng = np.random.default_rng(3)
    for row, code in enumerate(window.row_parameter):  # a hot, hypoxic, swinging day
        swing = 0.6 if code == "ph" else 0.02 * STRESS[code]
        phase = np.sin(np.arange(window.length) / 288 * 2 * np.pi)
        window.values[row] = STRESS[code] + swing * phase + rng.normal(0, 0.01, window.length)
    episodes = []
    for tick in range(1, 13):  # an hour of ticks, each with a new sample
        at = NOW + 300 * tick
        codes = list(window.row_parameter)
        batch = Batch(
            np.array([station.id] * len(codes)),
            np.array([PARAMETERS[c].id for c in codes]),
            np.full(len(codes), at),
            np.array([STRESS[c] for c in codes]) * rng.normal(1, 0.005, len(codes)),
            np.zeros(len(codes), dtype=np.int64),
        )
        episodes += engine.evaluate(batch, now=at).findings.episodes
    risk = [e for e in episodes if e.rule_id == "shrimp.disease_risk.high"]
    assert risk, f"no risk alert among {sorted({e.rule_id for e in episodes})}"
    factors = {f["factor"] for f in risk[0].details["factors"]}  # type: ignore[attr-defined]
    assert {"do_low", "temp"} <= factors
    assert risk[0].value is not None
    assert risk[0].value >= 40  # the profile's advisory score


CALM = {
    "temp": 30.0,
    "ph": 7.9,
    "do": 6.5,
    "sal": 20.0,
    "cond": 32_000.0,
    "turb": 20.0,
    "tan": 0.05,
    "no2": 0.05,
}


@pytest.mark.parametrize(
    ("freshening", "points"),
    [
        (0.0, None),  # the tide alone: the same hour each day, no change
        (6.0, 15 * (6.0 / 5.0 - 0.5)),  # 6 ‰ fresher than this hour yesterday: 10.5
    ],
)
def test_the_risk_score_counts_the_daily_salinity_change_not_the_tide(
    freshening: float, points: float | None
) -> None:
    station = load_registry().stations["KG-SR-01"]
    engine = Engine(
        AlertSettings(),  # 26 h: the hour a day ago and the day since
        registry=Registry((station,), (), source="test"),
        profiles=load_profiles(),
        quality=load_quality_config(),
    )
    engine.build(NOW)
    window = engine.windows[0]
    days = (window.times - window.times[0]) / 86_400
    for row, code in enumerate(window.row_parameter):
        window.values[row] = CALM[code]
    tide = 4.0 * np.sin(2 * np.pi * days)  # 8 ‰ from low to high water, every day
    window.values[window.station_rows("sal")[0]] = 20.0 + tide - freshening * days

    engine.rules[0].risk_series(window.values, window.times, last=1)

    factors = {f["factor"]: f["points"] for f in engine.rules[0].risk_factors[0]}
    assert factors.get("sal_swing") == (None if points is None else pytest.approx(points))
