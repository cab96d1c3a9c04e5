"""Run the whole alert engine, tick by tick, over simulated station series."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.detectors.findings import AlertEpisode
from alerts.engine import Engine
from alerts.kernels.window import Batch
from alerts.settings import AlertSettings
from stations import Registry, Station
from telemetry import PARAMETERS

DAY = 24 * 12  # 5-minute samples


def engine_over(
    station: Station,
    times: npt.NDArray[np.float64],
    series: Mapping[str, npt.NDArray[np.float64]],
) -> list[AlertEpisode]:
    """Every episode the engine derives, one tick per sample after a first day of history.

    The first day is loaded into the engine's window as committed history; each later
    sample arrives as its own batch, as an ingester would commit it.
    """
    engine = Engine(
        AlertSettings(history_s=86_400.0),
        registry=Registry((station,), (), source="test"),
        profiles=load_profiles(),
        quality=load_quality_config(),
    )
    codes = list(station.parameters)
    engine.build(float(times[DAY - 1]))
    window = engine.windows[0]
    for row, code in enumerate(window.row_parameter):
        window.values[row, -DAY:] = series[code][:DAY]
    episodes: list[AlertEpisode] = []
    for column in range(DAY, len(times)):
        at = float(times[column])
        batch = Batch(
            np.array([station.id] * len(codes)),
            np.array([PARAMETERS[c].id for c in codes]),
            np.full(len(codes), at),
            np.array([series[c][column] for c in codes]),
            np.zeros(len(codes), dtype=np.int64),
        )
        episodes += engine.evaluate(batch, now=at).findings.episodes
    return episodes
