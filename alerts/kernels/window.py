"""The alert engine's memory: the last day of every series on a regular time grid.

Stations that share a sampling interval form one group; each of their (station, parameter)
series is a row of a 2-D array whose columns are the grid instants, NaN where nothing was
measured. Checks then run on whole arrays at once. New readings are placed by vectorised
index arithmetic, never a Python loop per reading; late readings land in their past cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stations import Station
from telemetry import PARAMETERS, QCFlag

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_MAX_PARAMETER_ID = max(p.id for p in PARAMETERS.values())


@dataclass(frozen=True, slots=True)
class Batch:
    """Committed readings, column-wise."""

    station_id: npt.NDArray[np.str_]
    parameter_id: IntArray
    epoch: FloatArray
    value: FloatArray
    device_status: IntArray

    def __len__(self) -> int:
        return len(self.epoch)

    @classmethod
    def empty(cls) -> Batch:
        """No readings."""
        return cls(
            station_id=np.zeros(0, dtype=np.str_),
            parameter_id=np.zeros(0, dtype=np.int64),
            epoch=np.zeros(0),
            value=np.zeros(0),
            device_status=np.zeros(0, dtype=np.int64),
        )

    def among(self, stations: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Which readings are of ``stations``."""
        heads, lengths = _runs(self.station_id)
        wanted = np.asarray(stations, dtype=np.str_)
        return np.repeat(np.isin(self.station_id[heads], wanted), lengths)

    def take(self, mask: npt.NDArray[np.bool_]) -> Batch:
        """The readings where ``mask`` is set."""
        return Batch(
            station_id=self.station_id[mask],
            parameter_id=self.parameter_id[mask],
            epoch=self.epoch[mask],
            value=self.value[mask],
            device_status=self.device_status[mask],
        )

    def __add__(self, other: Batch) -> Batch:
        if not len(other) or not len(self):  # no copy of millions of readings for nothing
            return self if len(other) == 0 else other
        return Batch(
            station_id=np.concatenate([self.station_id, other.station_id]),
            parameter_id=np.concatenate([self.parameter_id, other.parameter_id]),
            epoch=np.concatenate([self.epoch, other.epoch]),
            value=np.concatenate([self.value, other.value]),
            device_status=np.concatenate([self.device_status, other.device_status]),
        )


def _runs(station_ids: npt.NDArray[np.str_]) -> tuple[IntArray, IntArray]:
    """Where each run of one station's readings starts, and its length.

    The engine reads readings grouped by station: looking each run up once, not each
    reading, saves sorting millions of strings at a start.
    """
    if not len(station_ids):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    heads = np.flatnonzero(np.r_[True, station_ids[1:] != station_ids[:-1]])
    return heads, np.diff(np.r_[heads, len(station_ids)])


class Window:
    """The trailing ``span_s`` seconds of one group of stations.

    Args:
        stations: The group's stations (all with the same sampling interval).
        span_s: How much history to keep.
        end: Epoch of the newest grid instant at creation.
    """

    def __init__(self, stations: Sequence[Station], *, span_s: float, end: float) -> None:
        intervals = {s.sampling_interval_s for s in stations}
        if len(intervals) != 1:
            msg = f"a window holds one sampling interval, got {sorted(intervals)}"
            raise ValueError(msg)
        self.step = float(intervals.pop())
        self.stations = tuple(stations)
        self.station_ids = tuple(s.id for s in stations)
        self.length = int(span_s // self.step) + 1
        # Row layout: each station's parameters in its own order.
        rows_station: list[int] = []
        rows_parameter: list[str] = []
        lookup = np.full((len(stations), _MAX_PARAMETER_ID + 1), -1, dtype=np.int64)
        for index, station in enumerate(stations):
            for code in station.parameters:
                lookup[index, PARAMETERS[code].id] = len(rows_station)
                rows_station.append(index)
                rows_parameter.append(code)
        self.row_station = np.array(rows_station, dtype=np.int64)
        self.row_parameter = tuple(rows_parameter)
        self.row_parameter_id = np.array([PARAMETERS[c].id for c in rows_parameter], dtype=np.int64)
        self.row_kind = tuple(stations[i].kind.value for i in rows_station)
        self._lookup = lookup
        self._rows_of: tuple[Batch, IntArray] | None = None  # the last batch looked up
        ids = np.array(self.station_ids, dtype=np.str_)
        self._order = np.argsort(ids)
        self._ordered_ids = ids[self._order]
        self.end = self._snap(end)
        self.values = np.full((len(rows_station), self.length), np.nan)
        self.status = np.zeros((len(rows_station), self.length), dtype=np.int8)
        self.flags = np.full((len(rows_station), self.length), QCFlag.MISSING, dtype=np.uint8)
        # The values detectors may use: NaN where the flag is suspect, failed or missing.
        self.usable = np.full((len(rows_station), self.length), np.nan)

    @property
    def times(self) -> FloatArray:
        """Epoch seconds of every column, oldest first."""
        start = self.end - (self.length - 1) * self.step
        return start + self.step * np.arange(self.length, dtype=np.float64)

    def _snap(self, epoch: float) -> float:
        return float(np.floor(epoch / self.step) * self.step)

    def advance(self, now: float) -> int:
        """Slide the grid so its newest column is the last instant at or before ``now``.

        Returns:
            How many columns were added.
        """
        shift = self.leaving(now)
        if not shift:
            return 0
        grids = (
            (self.values, np.nan),
            (self.status, 0),
            (self.flags, QCFlag.MISSING),
            (self.usable, np.nan),
        )
        for grid, empty in grids:
            if shift == self.length:
                grid.fill(empty)
            else:
                # Every row moves left by ``shift``: in the row-major buffer that is one move
                # of the whole buffer, which numpy does in place; the 2-D slices went through
                # a temporary copy, five times slower (0.5 s per 5 minutes at 10,000 stations).
                flat = grid.view()
                flat.shape = (-1,)  # raises rather than copy, were a grid not contiguous
                flat[:-shift] = flat[shift:]
                grid[:, -shift:] = empty
        self.end = self._snap(now)
        return shift

    def filled(self, rows: IntArray | slice = slice(None)) -> int:
        """How many of the newest columns a first evaluation of ``rows`` must cover: from
        the oldest column where one of them has a value (at least one column).

        Whole-window passes (a start, stations taken over, late rows) then cost the data
        held, not the window's span: a start over two hours of data checks two hours.
        """
        held = ~np.isnan(self.values[rows]).all(axis=0)
        return self.length - int(np.argmax(held)) if held.any() else 1

    def leaving(self, now: float) -> int:
        """How many columns (the oldest) :meth:`advance` to ``now`` would drop."""
        return min(max(round((self._snap(now) - self.end) / self.step), 0), self.length)

    def mark_usable(
        self, rows: IntArray | slice = slice(None), *, columns: slice = slice(None)
    ) -> None:
        """Recompute :attr:`usable` from values and flags in ``rows`` x ``columns`` (all of
        the window by default)."""
        if not isinstance(rows, slice):
            rows = rows[:, None]  # with a column slice: those rows, those columns
        flags = self.flags[rows, columns]
        fit = (flags == QCFlag.GOOD) | (flags == QCFlag.UNKNOWN)
        self.usable[rows, columns] = np.where(fit, self.values[rows, columns], np.nan)

    def place(
        self, readings: Batch, *, now: float | None = None
    ) -> tuple[npt.NDArray[np.bool_], IntArray, IntArray]:
        """Put readings in their cells (nearest grid instant); those outside are ignored.

        Args:
            readings: The readings, of any group.
            now: If given, readings dated after it are not placed yet (see :meth:`ahead`).

        Returns:
            Which readings were placed, and their (row, column), for writing QC flags back.
        """
        rows, columns = self._cells(readings)
        keep = (rows >= 0) & (columns >= 0) & (columns < self.length)
        if now is not None:
            keep &= readings.epoch <= now
        rows, columns = rows[keep], columns[keep]
        self.values[rows, columns] = readings.value[keep]
        self.status[rows, columns] = readings.device_status[keep]
        return keep, rows, columns

    def ahead(self, readings: Batch, *, now: float) -> npt.NDArray[np.bool_]:
        """Which readings of this group are not placeable yet: dated after ``now``, or
        nearest to a grid instant after the newest column.

        A logger whose clock runs fast sends them (ingest accepts a few minutes ahead); they
        are to be placed once the grid and ``now`` have reached them, not dropped.
        """
        rows, columns = self._cells(readings)
        result: npt.NDArray[np.bool_] = (rows >= 0) & (
            (columns >= self.length) | (readings.epoch > now)
        )
        return result

    def before(self, readings: Batch) -> npt.NDArray[np.bool_]:
        """Which readings of this group are nearest to an instant before the first column:
        history older than the window, for the engine's history pass."""
        rows, columns = self._cells(readings)
        result: npt.NDArray[np.bool_] = (rows >= 0) & (columns < 0)
        return result

    def _cells(self, readings: Batch) -> tuple[IntArray, IntArray]:
        """Each reading's row (-1 when not of this group) and nearest column (any integer)."""
        # place, ahead and before look up the same batch in turn: its rows are found once.
        if self._rows_of is not None and self._rows_of[0] is readings:
            rows = self._rows_of[1]
        else:
            stations = self.station_index(readings.station_id)
            rows = np.where(
                stations >= 0, self._lookup[np.maximum(stations, 0), readings.parameter_id], -1
            )
            self._rows_of = (readings, rows)
        start = self.end - (self.length - 1) * self.step
        # Half a step rounds up, as the QC write-back's cells [instant - half, + half) do.
        columns = np.floor((readings.epoch - start) / self.step + 0.5).astype(np.int64)
        return rows, columns

    def station_index(self, station_ids: npt.NDArray[np.str_]) -> IntArray:
        """Map station ids to this window's station indexes (-1 when not in the group)."""
        order = self._order
        ordered = self._ordered_ids
        if not len(ordered) or not len(station_ids):
            return np.full(len(station_ids), -1, dtype=np.int64)
        heads, lengths = _runs(station_ids)
        if len(heads) < len(station_ids):
            return np.repeat(self.station_index(station_ids[heads]), lengths)
        where = np.searchsorted(ordered, station_ids)
        where = np.clip(where, 0, len(ordered) - 1)
        found = ordered[where] == station_ids
        return np.where(found, order[where], -1).astype(np.int64)

    def station_rows(self, code: str) -> IntArray:
        """For every station, the row of parameter ``code`` (-1 where it is not measured)."""
        rows: IntArray = self._lookup[:, PARAMETERS[code].id]
        return rows

    def series(
        self,
        code: str,
        values: FloatArray | None = None,
        *,
        stations: IntArray | None = None,
    ) -> FloatArray:
        """A (stations, columns) array of parameter ``code``; NaN where not measured.

        Args:
            code: The parameter.
            values: Rows shaped like the window's (e.g. with suspect data masked, or only
                the newest columns); the window's own values if None.
            stations: Only these stations (indexes), in this order; all of them if None.
        """
        rows = self.station_rows(code)
        if stations is not None:
            rows = rows[stations]
        out = (self.values if values is None else values)[np.maximum(rows, 0)]
        out[rows < 0] = np.nan
        return out

    def carry(self, other: Window) -> None:
        """Take the series this window shares with ``other``, a window on the same grid.

        When a worker's stations change, the stations it keeps move into their new window
        with their values, device status and flags.
        """
        if (other.step, other.end, other.length) != (self.step, self.end, self.length):
            msg = "windows on different grids"
            raise ValueError(msg)
        ids = np.array(self.station_ids, dtype=np.str_)[self.row_station]
        stations = other.station_index(ids)
        rows = np.where(
            stations >= 0, other._lookup[np.maximum(stations, 0), self.row_parameter_id], -1
        )
        mine = np.flatnonzero(rows >= 0)
        self.values[mine] = other.values[rows[mine]]
        self.status[mine] = other.status[rows[mine]]
        self.flags[mine] = other.flags[rows[mine]]
