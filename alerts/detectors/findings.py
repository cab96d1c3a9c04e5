"""What every detector sees (:class:`View`) and says (:class:`Findings`), and its protocol.

A detector looks at one window of series in one tick and answers with the episodes it
derives from the window and the (station, rule) pairs it knows to be clear at the window's
end. ``alerts.persistence.lifecycle`` turns both into alerts and events exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from alerts.kernels.window import Window
from alerts.states import AlertFamily, Severity

FloatArray = npt.NDArray[np.float64]
Flags = npt.NDArray[np.uint8]
IntArray = npt.NDArray[np.int64]
RuleAt = tuple[str, str]
"""(station id, rule id): one alert at most is open per pair."""


@dataclass(frozen=True, slots=True)
class AlertEpisode:
    """One stretch during which a rule's condition held at a station.

    Attributes:
        station_id: The station.
        rule_id: The rule's stable id.
        family: What kind of condition it is.
        opened_at: Data time it became due (held for the rule's minimum duration).
        severity: The highest tier reached.
        escalations: (data time, tier) of the first tier and of each higher one, in order.
        resolved_at: Data time it cleared for good, or None while it holds.
        continues: It was already holding at the start of the window, so its real start is
            earlier than the window shows.
        value: The value that made it due (or its worst).
        details: Rule-specific facts (factors, projection...) for people and messages.
    """

    station_id: str
    rule_id: str
    family: AlertFamily
    opened_at: float
    severity: Severity
    escalations: tuple[tuple[float, Severity], ...] = ()
    resolved_at: float | None = None
    continues: bool = False
    value: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Findings:
    """What one detector found in one window.

    Attributes:
        episodes: Every episode it derives from the window, any order.
        clear: For pairs whose condition is known clear at the window's end, the data
            time it was last seen clear (their open alerts resolve).
    """

    episodes: tuple[AlertEpisode, ...] = ()
    clear: Mapping[RuleAt, float] = field(default_factory=dict)

    @classmethod
    def merge(cls, parts: Iterable[Findings]) -> Findings:
        """All the parts' episodes, and their clear pairs (a later part wins a pair)."""
        episodes: list[AlertEpisode] = []
        clear: dict[RuleAt, float] = {}
        for part in parts:
            episodes += part.episodes
            clear.update(part.clear)
        return cls(tuple(episodes), clear)


@dataclass(frozen=True, slots=True)
class View:
    """What detectors see of one window in one tick.

    Attributes:
        window: The series.
        flags: Their QC flags.
        usable: Their values with suspect, failed and missing data as NaN.
        now: The tick's time (the worker's clock).
        late_stations: Indexes of the window's stations that received late data.
        full: The first evaluation after a start or a failed tick: report every pair known
            clear, not only those this process saw open.
        stations: Indexes of the window's stations that got new or late data this tick
            (those whose data-driven findings can have changed); None: all of them.
    """

    window: Window
    flags: Flags
    usable: FloatArray
    now: float
    late_stations: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    full: bool = True
    stations: IntArray | None = None


class Detector(Protocol):
    """Derives episodes from a window: every detector of the engine has this shape."""

    def __call__(self, view: View) -> Findings:
        """What the detector finds in ``view``."""
        ...
