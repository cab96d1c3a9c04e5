"""The real measured series in the shared data folder (see its README.md).

If the files are missing, tests that need them skip locally and fail under CI.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tests.support.common import unavailable

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
CST = timezone(timedelta(hours=-6))  # Grand Bay NERRS local standard time
FloatArray = npt.NDArray[np.float64]


def data_file(name: str) -> Path:
    path = REAL / name
    if not path.is_file():
        unavailable(f"real data file {path}")
    return path


def column(table: dict[str, list[str]], name: str) -> FloatArray:
    return np.array([float(v) if v else np.nan for v in table[name]])


def times_of(table: dict[str, list[str]]) -> FloatArray:
    stamps = [datetime.strptime(s, "%m/%d/%Y %H:%M") for s in table["DateTimeStamp"]]
    return np.array([s.replace(tzinfo=CST).timestamp() for s in stamps])


# Grand Bay column → (our parameter, factor to our unit)
COLUMNS = {
    "Temp": ("temp", 1.0),
    "Sal": ("sal", 1.0),
    "SpCond": ("cond", 1000.0),  # mS/cm → µS/cm
    "DO_mgl": ("do", 1.0),
    "pH": ("ph", 1.0),
    "Turb": ("turb", 1.0),  # FNU ≈ NTU
}

# Bangs Lake is a shallow brackish estuary: watched here as a shrimp-farming river would be.
STATION = """
stations:
  - id: GB-BANGS
    kind: shrimp_river
    name_vi: Hồ Bangs, Grand Bay (dữ liệu thật, Mỹ)
    name_en: Bangs Lake, Grand Bay NERRS (real data, USA)
    district: Grand Bay
    latitude: 30.36
    longitude: -88.42
    parameters: [temp, sal, cond, do, ph, turb]
    sampling_interval_s: 900
    timezone: America/Chicago
"""
