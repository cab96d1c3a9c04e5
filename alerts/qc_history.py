"""Longer history for the QC checks that look back further than the engine's window.

The relative attenuated-signal (biofouling) check compares the last tidal cycle's range
with the same window's range one, two and three lunar days earlier: it needs 86.9 h of a
series, while the engine keeps 26 h of everything. Keeping 87 h of every series would
more than triple the engine's memory and make every detector scan days it does not need,
so only the series with such a check (salinity and conductivity by default) get a second,
longer window here. The engine places the same readings in both, and takes those series'
flags from the longer one.

Those checks judge ranges over hours, so the longer window is not on the sampling grid but
on one no finer than ``AQUAWATCH_QC_HISTORY_STEP_S`` (5 minutes): each cell holds the last
reading placed in it, and each of the engine's columns takes the flag of the cell it falls
in. Its memory follows the span and that step, not the sampling rate: a station sampling
every 30 s costs what one sampling every 5 minutes does (1,046 columns for 87 h, where the
sampling grid would take 10,435). A check that needs every sample (the spike test) is not
judged there: it sees what the engine's window holds.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from alerts.config.quality import QualityConfig
from alerts.kernels.window import Batch, Window
from stations import Station

Flags = npt.NDArray[np.uint8]
IntArray = npt.NDArray[np.int64]


class QcHistory:
    """The long-lookback series of one engine window, further back, on a coarser grid.

    Args:
        window: The engine's window (its stations, grid and end).
        quality: The QC checks; series whose coarse-grid checks need more than the window
            are kept.
        step_s: The finest grid kept; the grid's step is the least whole multiple of the
            window's reaching it.
    """

    def __init__(self, window: Window, quality: QualityConfig, *, step_s: float) -> None:
        self.quality = quality
        self.engine_window = window
        self.beyond_s = window.step * (window.length - 3)  # what the window cannot judge
        step = _step(window.step, step_s)
        long: dict[str, tuple[str, ...]] = {}
        need = 0.0
        lookback = functools.cache(functools.partial(_lookback, quality))
        for station in window.stations:
            kind = station.kind.value
            codes = tuple(c for c in station.parameters if lookback(kind, c) > self.beyond_s)
            if codes:
                long[station.id] = codes
                need = max(need, *(lookback(kind, c) for c in codes))
        kept: Sequence[Station] = [
            s.model_copy(update={"parameters": long.get(s.id, ()), "sampling_interval_s": step})
            for s in window.stations
        ]
        self.window = Window(kept, span_s=need + 2 * step, end=window.end + step / 2)
        # Each kept row's row in the engine's window.
        target = np.full(len(self.window.values), -1, dtype=np.int64)
        for code in {c for codes in long.values() for c in codes}:
            mine, theirs = self.window.station_rows(code), window.station_rows(code)
            present = mine >= 0
            target[mine[present]] = theirs[present]
        self.rows = target

    def __len__(self) -> int:
        return len(self.rows)

    def advance_and_place(self, readings: Batch, *, now: float) -> None:
        """Follow the engine's window: slide to ``now`` and place the same readings.

        The newest cell is the one ``now`` falls in (its instant may be up to half a step
        later), so that every reading up to ``now`` has a cell.
        """
        self.window.advance(now + self.window.step / 2)
        self.window.place(readings, now=now)

    def flags(self, *, last: int | None, rows: IntArray | None = None) -> Flags:
        """Flags of the long-lookback checks alone on the kept series (or those among
        ``rows`` of the engine's window), on the engine window's columns: combine them
        with the window's own.

        Args:
            last: Only the engine window's newest ``last`` columns (None: all of them).
            rows: Engine-window rows to flag; None for every kept series.

        Returns:
            (kept series, columns), in the order of :attr:`rows` (filtered by ``rows``).
        """
        w, engine = self.window, self.engine_window
        columns = engine.length if last is None else min(last, engine.length)
        # The cell of each of those columns (nearest instant, half a step rounding up, as
        # readings are placed); the grid starts earlier than the window and ends no sooner.
        cells = np.floor((engine.times[engine.length - columns :] - w.times[0]) / w.step + 0.5)
        first = int(cells[0])
        chosen = self.selected(rows)
        every = rows is None  # every kept series: the arrays as they are, no copy
        flags = self.quality.evaluate(
            times=w.times,
            values=w.values if every else w.values[chosen],
            parameters=w.row_parameter if every else [w.row_parameter[r] for r in chosen],
            kinds=w.row_kind if every else [w.row_kind[r] for r in chosen],
            status=w.status if every else w.status[chosen],
            last=w.length - first,
            beyond_s=self.beyond_s,
        )
        return flags[:, cells.astype(np.int64) - first]

    def selected(self, rows: IntArray | None) -> IntArray:
        """Indexes of the kept series, all or those flagging ``rows`` of the engine's window."""
        every = np.arange(len(self.rows))
        return every if rows is None else every[np.isin(self.rows, rows)]


def reach_s(stations: Iterable[Station], quality: QualityConfig, *, step_s: float) -> float:
    """How far back before the end of its grid any :class:`QcHistory` of ``stations``
    reaches, at most: known before one is built, so that its readings can be read
    meanwhile."""
    series = {
        (s.kind.value, c, float(s.sampling_interval_s)) for s in stations for c in s.parameters
    }
    # A window spanning the lookback and two steps holds at most one step more.
    return max(
        (_lookback(quality, kind, c) + 3 * _step(interval, step_s) for kind, c, interval in series),
        default=0.0,
    )


def _step(interval: float, step_s: float) -> float:
    """The long history's grid step for a window of ``interval``."""
    return interval * max(1, math.ceil(step_s / interval))


def _lookback(quality: QualityConfig, kind: str, code: str) -> float:
    """The longest history a check judged on the coarse grid needs."""
    checks = quality.checks(kind=kind, parameter=code).values()
    return max((c.lookback_s for c in checks if c.COARSE), default=0.0)
