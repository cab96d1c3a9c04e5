"""Longer history for the QC checks that look back further than the engine's window.

The relative attenuated-signal (biofouling) check compares the last tidal cycle's range
with the same window's range one, two and three lunar days earlier: it needs 86.9 h of a
series, while the engine keeps 26 h of everything. Keeping 87 h of every series would
more than triple the engine's memory and make every detector scan days it does not need,
so only the series with such a check (salinity and conductivity by default) get a second,
longer window here. The engine places the same readings in both, and takes those series'
flags from the longer one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from alerts.config.quality import QualityConfig
from alerts.kernels.window import Batch, Window
from stations import Station

Flags = npt.NDArray[np.uint8]
IntArray = npt.NDArray[np.int64]


class QcHistory:
    """The long-lookback series of one engine window, on the same grid, further back.

    Args:
        window: The engine's window (its stations, grid and end).
        quality: The QC checks; series whose checks need more than the window are kept.
    """

    def __init__(self, window: Window, quality: QualityConfig) -> None:
        span = window.step * (window.length - 1)
        self.quality = quality
        long: dict[str, tuple[str, ...]] = {}
        need = 0.0
        for station in window.stations:
            codes = tuple(
                code
                for code in station.parameters
                if _lookback(quality, station, code) > span - 2 * window.step
            )
            if codes:
                long[station.id] = codes
                need = max(need, *(_lookback(quality, station, c) for c in codes))
        kept: Sequence[Station] = [
            s.model_copy(update={"parameters": long.get(s.id, ())}) for s in window.stations
        ]
        self.engine_window = window
        self.window = Window(kept, span_s=need + 2 * window.step, end=window.end)
        self.beyond_s = span - 2 * window.step  # checks that need more than the window
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
        """Follow the engine's window: slide to ``now`` and place the same readings."""
        self.window.advance(now)
        self.window.place(readings, now=now)

    def flags(self, *, last: int | None, rows: IntArray | None = None) -> Flags:
        """Flags of the long-lookback checks alone on the kept series (or those among
        ``rows`` of the engine's window): combine them with the window's own.

        Args:
            last: Only the newest ``last`` columns (None: the engine window's length).
            rows: Engine-window rows to flag; None for every kept series.

        Returns:
            (kept series, columns), in the order of :attr:`rows` (filtered by ``rows``).
        """
        w = self.window
        if rows is None:  # every kept series: the arrays as they are, no copy
            return self.quality.evaluate(
                times=w.times,
                values=w.values,
                parameters=w.row_parameter,
                kinds=w.row_kind,
                status=w.status,
                last=last,
                beyond_s=self.beyond_s,
            )
        chosen = self.selected(rows)
        return self.quality.evaluate(
            times=w.times,
            values=w.values[chosen],
            parameters=[w.row_parameter[r] for r in chosen],
            kinds=[w.row_kind[r] for r in chosen],
            status=w.status[chosen],
            last=last,
            beyond_s=self.beyond_s,
        )

    def selected(self, rows: IntArray | None) -> IntArray:
        """Indexes of the kept series, all or those flagging ``rows`` of the engine's window."""
        every = np.arange(len(self.rows))
        return every if rows is None else every[np.isin(self.rows, rows)]


def _lookback(quality: QualityConfig, station: Station, code: str) -> float:
    checks = quality.checks(kind=station.kind.value, parameter=code).values()
    return max((c.lookback_s for c in checks), default=0.0)
