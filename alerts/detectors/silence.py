"""Station silence: no data for max(3 sampling intervals, a grace period) opens an alert."""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

import numpy as np
import numpy.typing as npt

from alerts.detectors.findings import AlertEpisode, Findings, RuleAt
from alerts.kernels.window import Window
from alerts.states import AlertFamily, BuiltinRule, Severity

RULE: Final = BuiltinRule.OFFLINE


def silence(
    window: Window,
    *,
    now: float,
    grace_s: float,
    known: Collection[str],
    clear_only: npt.NDArray[np.int64] | None = None,
) -> Findings:
    """Episodes of stations that stopped reporting, and the stations known to be reporting
    (of those, only the stations indexed by ``clear_only`` when given: a tick asks about
    the few whose offline alert is open, not about every station).

    A station counts as reporting when any of its series has a value; the episode becomes due
    ``max(3 intervals, grace)`` after its last value (or after the window's start when the
    whole window is silent, marked as continuing). A station silent for the whole window
    is offline only if it is in ``known`` (it has reported before): one that never has is
    not commissioned yet, and a fresh installation must not open an alert per station.
    """
    times = window.times
    allowed = max(3 * window.step, grace_s)
    # Most stations have a value among the newest columns: only the others are searched
    # further back, so the check costs the number of stations, not the window's size.
    newest = min(window.length, int(np.ceil(allowed / window.step)) + 1)
    per_station = _last_columns(window, window.row_station, start=window.length - newest)
    searched = np.flatnonzero(np.isin(window.row_station, np.flatnonzero(per_station < 0)))
    if len(searched):
        older = _last_columns(window, window.row_station[searched], rows=searched, start=0)
        per_station = np.maximum(per_station, older)
    episodes: list[AlertEpisode] = []
    clear: dict[RuleAt, float] = {}
    for index in np.flatnonzero(per_station < 0):
        if window.station_ids[index] not in known:
            continue
        episodes.append(_episode(window.station_ids[index], times[0] + allowed, continues=True))
    last = times[np.maximum(per_station, 0)]
    silent = (per_station >= 0) & (now - last > allowed)
    for index in np.flatnonzero(silent):
        episodes.append(
            _episode(window.station_ids[index], float(last[index]) + allowed, continues=False)
        )
    reporting = (per_station >= 0) & ~silent
    if clear_only is not None:
        asked = np.zeros(len(per_station), dtype=np.bool_)
        asked[clear_only[clear_only >= 0]] = True
        reporting &= asked
    for index in np.flatnonzero(reporting):
        clear[(window.station_ids[index], RULE)] = float(last[index])
    return Findings(tuple(episodes), clear)


def _last_columns(
    window: Window,
    row_station: npt.NDArray[np.int64],
    *,
    start: int,
    rows: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.int64]:
    """Per station, the newest column from ``start`` on where ``rows`` (all if None) have a
    value; -1 where none has."""
    values = window.values[:, start:] if rows is None else window.values[rows, start:]
    has_value = ~np.isnan(values)
    last_column = np.where(
        has_value.any(axis=1), window.length - 1 - np.argmax(has_value[:, ::-1], axis=1), -1
    )
    # A window's rows run station by station: the newest of each station's is one reduction.
    per_station = np.full(len(window.stations), -1, dtype=np.int64)
    if len(row_station):
        starts = np.flatnonzero(np.diff(row_station, prepend=-1))
        per_station[row_station[starts]] = np.maximum.reduceat(last_column, starts)
    return per_station


def _episode(station_id: str, due: float, *, continues: bool) -> AlertEpisode:
    return AlertEpisode(
        station_id=station_id,
        rule_id=RULE,
        family=AlertFamily.OFFLINE,
        opened_at=due,
        severity=Severity.WARNING,
        escalations=((due, Severity.WARNING),),
        continues=continues,
        details={"message_vi": "Trạm mất kết nối", "message_en": "Station offline"},
    )
