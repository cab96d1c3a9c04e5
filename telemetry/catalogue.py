"""The parameter catalogue: every code a station may send, with unit and names.

The numeric ``id`` is the stable key stored in ``readings.parameter_id``; never renumber.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True, slots=True)
class Parameter:
    """One measured quantity.

    Attributes:
        id: Stable small integer stored with each reading.
        code: Wire code used in readings documents (``do``, ``ph`` ...).
        unit: Unit of the value as stored.
        name_vi: Vietnamese name (shown first to users).
        name_en: English name.
    """

    id: int
    code: str
    unit: str
    name_vi: str
    name_en: str


_PARAMETERS: Final = (
    Parameter(1, "temp", "°C", "Nhiệt độ", "Temperature"),
    Parameter(2, "ph", "", "pH", "pH"),
    Parameter(3, "do", "mg/L", "Oxy hòa tan", "Dissolved oxygen"),
    Parameter(4, "sal", "‰", "Độ mặn", "Salinity"),
    Parameter(5, "cond", "µS/cm", "Độ dẫn điện", "Conductivity"),
    Parameter(6, "turb", "NTU", "Độ đục", "Turbidity"),
    Parameter(7, "tss", "mg/L", "Tổng chất rắn lơ lửng", "Total suspended solids"),
    Parameter(8, "cod", "mg/L", "Nhu cầu oxy hóa học (COD)", "Chemical oxygen demand"),
    Parameter(9, "bod5", "mg/L", "Nhu cầu oxy sinh hóa (BOD5)", "Biochemical oxygen demand"),
    Parameter(10, "toc", "mg/L", "Tổng cacbon hữu cơ", "Total organic carbon"),
    Parameter(11, "nh4", "mg/L N", "Amoni (NH4+ tính theo N)", "Ammonium as N"),
    Parameter(12, "tan", "mg/L N", "Tổng amoniac (TAN)", "Total ammonia nitrogen"),
    Parameter(13, "no2", "mg/L N", "Nitrit (NO2- tính theo N)", "Nitrite as N"),
    Parameter(14, "no3", "mg/L N", "Nitrat (NO3- tính theo N)", "Nitrate as N"),
    Parameter(15, "po4", "mg/L P", "Phosphat (PO4 tính theo P)", "Phosphate as P"),
    Parameter(16, "tn", "mg/L", "Tổng nitơ", "Total nitrogen"),
    Parameter(17, "tp", "mg/L", "Tổng phốt pho", "Total phosphorus"),
    Parameter(18, "h2s", "mg/L", "Hydro sunfua (H2S)", "Hydrogen sulfide"),
    Parameter(19, "alk", "mg CaCO3/L", "Độ kiềm", "Alkalinity"),
    Parameter(20, "chla", "µg/L", "Chất diệp lục a", "Chlorophyll a"),
    Parameter(21, "flow", "m³/h", "Lưu lượng", "Flow"),
    Parameter(22, "level", "m", "Mực nước", "Water level"),
    Parameter(23, "color", "Pt-Co", "Độ màu", "Colour"),
    Parameter(24, "cl2", "mg/L", "Clo dư", "Residual chlorine"),
)

PARAMETERS: Final = MappingProxyType({p.code: p for p in _PARAMETERS})
"""Parameters by wire code."""

PARAMETERS_BY_ID: Final = MappingProxyType({p.id: p for p in _PARAMETERS})
"""Parameters by stored id."""
