"""QARTOD data-quality flags, defined once for checks, storage and dashboard colours."""

from __future__ import annotations

from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt


class QCFlag(IntEnum):
    """IOOS QARTOD flag values, stored in ``readings.qc``."""

    GOOD = 1
    UNKNOWN = 2  # not evaluated
    SUSPECT = 3
    FAIL = 4
    MISSING = 9


# Worst-of ordering: missing < not evaluated < good < suspect < fail.
_SEVERITY: Final = np.zeros(256, dtype=np.uint8)
_SEVERITY[[QCFlag.MISSING, QCFlag.UNKNOWN, QCFlag.GOOD, QCFlag.SUSPECT, QCFlag.FAIL]] = [
    0,
    1,
    2,
    3,
    4,
]
_BY_SEVERITY: Final = np.array(
    [QCFlag.MISSING, QCFlag.UNKNOWN, QCFlag.GOOD, QCFlag.SUSPECT, QCFlag.FAIL], dtype=np.uint8
)


def worst(*flags: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Combine flag arrays of one shape element-wise, keeping the worst of each."""
    severity = np.maximum.reduce([_SEVERITY[f] for f in flags])
    result: npt.NDArray[np.uint8] = _BY_SEVERITY[severity]
    return result
