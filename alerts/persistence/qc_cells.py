"""QC flags of grid cells, gathered from a window for writing back to the readings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.kernels.window import Window

FloatArray = npt.NDArray[np.float64]
Flags = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Cells:
    """QC flags of cells of one grid: (station, parameter, grid instant) and the flag.

    A cell's station is ``stations[station]`` (a window's stations, and a row's index).
    """

    stations: tuple[str, ...]
    station: npt.NDArray[np.int64]
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
    return Cells(
        stations=window.station_ids,
        station=window.row_station[rows],
        parameter_id=window.row_parameter_id[rows],
        epoch=window.times[cols],
        flag=window.flags[rows, cols],
        half_step=window.step / 2,
    )
