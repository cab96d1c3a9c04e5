"""QC flags the engine knows but has not stored yet, written back a chunk per tick.

A start (or a worker gaining stations, or a station's late data) flags whole windows at
once: millions of readings at 10,000 stations. Writing them all before the first alert goes
out would hold up the start by the largest write the engine ever makes, so the cells whose
stored flag is out of date are only marked here, and each tick writes the oldest of them,
``chunk`` cells at most, in its own transaction (under its leases). A cell is always written
with the flag the window holds when it is written, so a flag that changed since it was
marked is stored as it is now. The cells a window is about to drop are written before it
moves; until a cell is written, its reading shows "not yet checked" (qc 2).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg

from alerts.kernels.window import Window
from alerts.persistence import store
from alerts.persistence.qc_cells import cells_of

Mask = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


class FlagBacklog:
    """The unstored flags of each of ``windows`` (the engine's, in its order)."""

    def __init__(self, windows: Sequence[Window]) -> None:
        self.windows = tuple(windows)
        self._masks: list[Mask | None] = [None] * len(self.windows)

    def __bool__(self) -> bool:
        return any(mask is not None for mask in self._masks)

    def __len__(self) -> int:
        """How many cells wait."""
        return sum(int(mask.sum()) for mask in self._masks if mask is not None)

    def _mask(self, index: int) -> Mask:
        mask = self._masks[index]
        if mask is None:
            mask = self._masks[index] = np.zeros(self.windows[index].values.shape, np.bool_)
        return mask

    def add(self, index: int, rows: IntArray, columns: IntArray | slice = slice(None)) -> None:
        """Mark the cells of window ``index`` that hold a reading among (row, column) pairs,
        or among whole ``rows``."""
        if len(rows):
            values = self.windows[index].values
            self._mask(index)[rows, columns] |= ~np.isnan(values[rows, columns])

    def drop(self, stations: Collection[str]) -> None:
        """Forget the cells of ``stations`` (given up: their new owner stores their flags)."""
        gone = np.asarray(sorted(stations), dtype=np.str_)
        for window, mask in zip(self.windows, self._masks, strict=True):
            if mask is not None:
                mask[np.isin(window.row_station, window.station_index(gone))] = False

    def everything(self) -> None:
        """Mark every cell that holds a reading (after a failed tick: what reached the
        database is unknown)."""
        self._masks = [~np.isnan(window.values) for window in self.windows]

    def shift(self, index: int, added: int) -> None:
        """Follow window ``index``, which just added ``added`` columns (its oldest were
        written first by :meth:`store` with ``now``)."""
        mask = self._masks[index]
        if mask is None or not added:
            return
        if added >= mask.shape[1]:
            self._masks[index] = None
            return
        mask[:, :-added] = mask[:, added:]
        mask[:, -added:] = False

    def store(self, conn: psycopg.Connection[Any], *, limit: int | None, now: float) -> int:
        """Write the cells the windows drop when they advance to ``now``, and the oldest
        others up to ``limit`` cells in all (None: every one).

        Returns:
            How many readings changed flag.
        """
        written = 0
        budget = np.inf if limit is None else float(limit)
        for index, window in enumerate(self.windows):
            mask = self._masks[index]
            if mask is None:
                continue
            cumulative = np.cumsum(mask.sum(axis=0))
            within = int(np.searchsorted(cumulative, budget, side="right"))
            if budget > 0:  # at least the oldest column, however full
                within = max(within, 1)
            columns = max(within, window.leaving(now))
            if not columns:
                continue
            chosen = slice(0, columns)
            written += store.write_qc(conn, cells_of(window, mask[:, chosen], columns=chosen))
            budget -= float(cumulative[columns - 1])
            mask[:, chosen] = False
            if columns >= window.length or not mask.any():
                self._masks[index] = None
        return written
