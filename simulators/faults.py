"""Sensor and link faults, applied vectorised to one station's block of samples.

Every fault is defined by times, never by array positions, so applying it to a day at once
or to one sample at a time gives the same result:

* :class:`Spike` adds ``delta`` to the single sample taken at ``at``;
* :class:`Stuck` holds one value (the reading when it stuck) from ``start`` to ``end``;
* :class:`Drift` adds ``rate_per_day`` times the elapsed days from ``start`` to ``end``;
* :class:`Dropout` loses whole samples, or one parameter's values when it names one;
* :class:`Status` marks values calibrating (1) or in device error (2);
* :class:`ClockSkew` shifts the timestamps the station writes by ``offset`` seconds;
* :class:`Outage` cuts the link: samples are kept in the logger's buffer and released at
  ``end``, to be sent as backfill batches with their original times.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from simulators.noise import FloatArray
from telemetry import DeviceStatus


@dataclass(frozen=True, slots=True)
class Spike:
    """One outlier: ``delta`` added to ``parameter`` at sampling time ``at``."""

    parameter: str
    at: float
    delta: float


@dataclass(frozen=True, slots=True)
class Stuck:
    """A flat line: ``parameter`` reads ``value`` for every sample in [start, end).

    ``value`` None means "the reading when it stuck"; the runner fills it in from the
    signal at the first sampling time, since a block may start after the fault did.
    """

    parameter: str
    start: float
    end: float
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Drift:
    """A slow calibration drift of ``rate_per_day`` units per day in [start, end)."""

    parameter: str
    start: float
    end: float
    rate_per_day: float


@dataclass(frozen=True, slots=True)
class Dropout:
    """Missing data in [start, end): whole samples, or only ``parameter`` when given."""

    start: float
    end: float
    parameter: str | None = None


@dataclass(frozen=True, slots=True)
class Status:
    """Device status ``code`` for ``parameters`` (all when empty) in [start, end)."""

    start: float
    end: float
    code: DeviceStatus
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClockSkew:
    """The station's clock is ``offset`` seconds off for samples in [start, end)."""

    start: float
    end: float
    offset: float


@dataclass(frozen=True, slots=True)
class Outage:
    """The link is down in [start, end): samples wait in the station's buffer until ``end``."""

    start: float
    end: float


Fault = Spike | Stuck | Drift | Dropout | Status | ClockSkew | Outage


@dataclass(slots=True)
class Block:
    """One station's samples over a span of time, as arrays the faults rewrite in place.

    Attributes:
        epochs: True sampling times (seconds since the epoch).
        stamps: Times the station writes in the payload (differs under clock skew).
        values: Values by parameter code; NaN marks a value that will not be sent.
        status: Device status by parameter code (0 measuring).
        release: Earliest simulated time each sample can leave the station.
        kept: False for samples lost for good (dropout).
    """

    epochs: FloatArray
    values: dict[str, FloatArray]
    stamps: FloatArray = field(init=False)
    status: dict[str, NDArray[np.int8]] = field(init=False)
    release: FloatArray = field(init=False)
    kept: NDArray[np.bool_] = field(init=False)

    def __post_init__(self) -> None:
        self.stamps = self.epochs.copy()
        self.status = {code: np.zeros(self.epochs.shape, np.int8) for code in self.values}
        self.release = self.epochs.copy()
        self.kept = np.ones(self.epochs.shape, np.bool_)


def _inside(epochs: FloatArray, start: float, end: float) -> NDArray[np.bool_]:
    result: NDArray[np.bool_] = (epochs >= start) & (epochs < end)
    return result


def _apply(block: Block, fault: Fault) -> None:
    t = block.epochs
    match fault:
        case Spike(parameter=code, at=at, delta=delta) if code in block.values:
            block.values[code] = np.where(t == at, block.values[code] + delta, block.values[code])
        case Stuck(parameter=code, start=start, end=end, value=float() as value) if (
            code in block.values
        ):
            block.values[code] = np.where(_inside(t, start, end), value, block.values[code])
        case Drift(parameter=code, start=start, end=end, rate_per_day=rate) if code in block.values:
            offset = np.where(_inside(t, start, end), rate * (t - start) / 86_400.0, 0.0)
            block.values[code] = block.values[code] + offset
        case Dropout(start=start, end=end, parameter=None):
            block.kept &= ~_inside(t, start, end)
        case Dropout(start=start, end=end, parameter=code) if code in block.values:
            block.values[code] = np.where(_inside(t, start, end), np.nan, block.values[code])
        case Status(start=start, end=end, code=state, parameters=codes):
            window = _inside(t, start, end)
            for code in codes or tuple(block.status):
                if code in block.status:
                    block.status[code] = np.where(window, np.int8(state), block.status[code])
        case ClockSkew(start=start, end=end, offset=offset):
            block.stamps = np.where(_inside(t, start, end), t + offset, block.stamps)
        case Outage(start=start, end=end):
            block.release = np.where(
                _inside(t, start, end), np.maximum(block.release, end), block.release
            )
        case _:
            pass  # a fault on a parameter this station does not measure changes nothing


_ORDER = (Drift, Spike, Stuck, Status, Dropout, ClockSkew, Outage)


def apply_faults(block: Block, faults: Iterable[Fault]) -> Block:
    """Apply ``faults`` to ``block`` in a fixed order and return it.

    Value faults come first (drift, then spike, then stuck, so a stuck sensor hides the
    others), then status, dropouts, clock skew and finally link outages.
    """
    faults = tuple(faults)
    for kind in _ORDER:
        for fault in faults:
            if isinstance(fault, kind):
                _apply(block, fault)
    return block
