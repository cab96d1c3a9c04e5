"""Grand Bay 2021 replayed through the whole engine: the provider's hypoxia episode is alerted."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.detectors.findings import AlertEpisode
from alerts.engine import Engine
from alerts.kernels.window import Batch
from alerts.settings import AlertSettings
from alerts.states import Severity
from stations import parse_registry
from telemetry import PARAMETERS
from tests.alerts.real_data import COLUMNS, CST, STATION, column, times_of


@pytest.fixture(scope="module")
def replay(grand_bay: dict[str, list[str]]) -> tuple[list[AlertEpisode], dict[str, list[str]]]:
    """Feed the data hour by hour, as an ingester would commit it; collect the episodes."""
    table = grand_bay
    times = times_of(table)
    registry = parse_registry(STATION, source="grand-bay")
    engine = Engine(
        AlertSettings(),
        registry=registry,
        profiles=load_profiles(),
        quality=load_quality_config(),
    )
    engine.build(float(times[0]))
    per_parameter = []
    for name, (code, factor) in COLUMNS.items():
        values = column(table, name) * factor
        present = ~np.isnan(values)
        per_parameter.append((code, times[present], values[present]))
    episodes: list[AlertEpisode] = []
    for hour in np.arange(times[0] + 3600, times[-1] + 3600, 3600.0):
        parts = [
            (c, t[(t > hour - 3600) & (t <= hour)], v[(t > hour - 3600) & (t <= hour)])
            for c, t, v in per_parameter
        ]
        batch = Batch(
            np.array(["GB-BANGS"] * sum(len(t) for _, t, _ in parts)),
            np.concatenate([np.full(len(t), PARAMETERS[c].id) for c, t, _ in parts]),
            np.concatenate([t for _, t, _ in parts]),
            np.concatenate([v for _, _, v in parts]),
            np.zeros(sum(len(t) for _, t, _ in parts), dtype=np.int64),
        )
        episodes += engine.evaluate(batch, now=float(hour)).findings.episodes
    return episodes, table


def test_the_labelled_hypoxia_episode_is_alerted(
    replay: tuple[list[AlertEpisode], dict[str, list[str]]],
) -> None:
    episodes, table = replay
    times = times_of(table)
    labelled = times[np.array(["CDA" in f for f in table["F_DO_mgl"]])]
    assert len(labelled) == 62
    low_do = [e for e in episodes if e.rule_id == "shrimp.do.low"]
    opened = [e.opened_at for e in low_do if e.resolved_at is None]
    assert opened, "no low-DO alert at all"
    # An alert opened within the provider's hypoxia days (9-17 August) ...
    in_episode = [t for t in opened if labelled.min() - 86_400 <= t <= labelled.max()]
    assert in_episode
    # ... and every labelled hypoxic reading fell inside an open low-DO alert.
    spans = []
    for e in low_do:
        if e.resolved_at is None:
            end = next(
                (r.resolved_at for r in low_do if r.opened_at == e.opened_at and r.resolved_at),
                np.inf,
            )
            spans.append((e.opened_at, end))
    # The rule ignores dips shorter than its 30-minute minimum (single 15-minute readings
    # between normal ones, of which the labelled set has several); every sustained run of
    # labelled readings is covered from its third reading (30 minutes in) on.
    runs = np.split(labelled, np.flatnonzero(np.diff(labelled) > 900) + 1)
    sustained = [run for run in runs if len(run) >= 3]
    assert sum(len(r) for r in sustained) >= 40  # most of the 62 labels are in such runs
    for run in sustained:
        for t in run[2:]:
            assert any(start <= t <= end for start, end in spans), f"hypoxia at {t} missed"
    worst = max(e.severity for e in low_do)
    assert worst >= 2  # below 3.5 mg/L for half an hour: at least a warning


def test_the_rejected_turbidity_spike_raises_no_water_quality_alert(
    replay: tuple[list[AlertEpisode], dict[str, list[str]]],
) -> None:
    episodes, _ = replay
    assert not [e for e in episodes if e.rule_id.endswith("turb.high")]


def test_the_dawn_forecast_warns_on_the_evenings_before_night_hypoxia(
    replay: tuple[list[AlertEpisode], dict[str, list[str]]],
) -> None:
    """Warned the evening before, where DO was already falling at dusk.

    On 8 and 13 August DO held 5-7 mg/L until after midnight and fell near dawn with the
    tide: no dusk projection can see that, and the measured-DO alert covers it.
    """
    episodes, table = replay
    times = times_of(table)
    labelled = times[np.array(["CDA" in f for f in table["F_DO_mgl"]])]
    warned = {
        datetime.fromtimestamp(at, CST).date().isoformat()
        for e in episodes
        if e.rule_id == "forecast.do.dawn"
        for at, tier in e.escalations
        if tier >= Severity.WARNING and datetime.fromtimestamp(at, CST).hour >= 18
    }
    # Evenings followed by labelled hypoxia before 09:00 the next morning.
    hypoxic = {
        datetime.fromtimestamp(t - 86_400, CST).date().isoformat()
        for t in labelled
        if datetime.fromtimestamp(t, CST).hour < 9
    } | {
        datetime.fromtimestamp(t, CST).date().isoformat()
        for t in labelled
        if datetime.fromtimestamp(t, CST).hour >= 21
    }
    assert hypoxic == {
        "2021-08-08",
        "2021-08-09",
        "2021-08-10",
        "2021-08-11",
        "2021-08-12",
        "2021-08-13",
    }
    assert hypoxic & warned == {"2021-08-09", "2021-08-10", "2021-08-11", "2021-08-12"}
