"""QC flags of grid cells, gathered from a window for writing back to the readings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.kernels.window import Window

FloatArray = npt.NDArray[np.float64]
Flags = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Cells:
    """QC flags of cells of one grid: (station, parameter, grid instant) and the flag."""

    station_id: list[str]
    parameter_id: npt.NDArray[np.int64]
    epoch: FloatArray
    flag: Flags
    half_step: float


def cells_of(
    window: Window,
    mask: npt.NDArray[np.bool_] | None = None,
    *,
    columns: slice = slice(None),
) -> Cells:
    """The flags of the cells that hold a value in ``columns`` where ``mask`` is set.

    ``mask`` covers those columns, or is one column wide to select whole rows.
    """
    present = ~np.isnan(window.values[:, columns])
    if mask is not None:
        present &= mask
    rows, found = np.nonzero(present)
    cols = found + (columns.indices(window.length)[0])
    station_ids = np.array(window.station_ids)[window.row_station[rows]]
    return Cells(
        station_id=station_ids.tolist(),
        parameter_id=window.row_parameter_id[rows],
        epoch=window.times[cols],
        flag=window.flags[rows, cols],
        half_step=window.step / 2,
    )


def join(cells: Sequence[Cells], *, half_step: float) -> Cells:
    """Cells of one grid (one window) as one write: their half-step is the same."""
    return Cells(
        station_id=[s for c in cells for s in c.station_id],
        parameter_id=np.concatenate([c.parameter_id for c in cells] or [np.zeros(0, np.int64)]),
        epoch=np.concatenate([c.epoch for c in cells] or [np.zeros(0)]),
        flag=np.concatenate([c.flag for c in cells] or [np.zeros(0, np.uint8)]),
        half_step=half_step,
    )
