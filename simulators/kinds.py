"""Model parameters of each station kind: typical levels, swings and sensor resolution.

Values are typical of the Kiên Giang coast (brackish shrimp rivers of U Minh Thượng, the
Gulf of Thailand around Kiên Hải and Phú Quốc, fishing-port and industrial effluent). They
shape a plausible demo, not a climatology; per-station offsets are added in ``signals``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from stations import StationKind


@dataclass(frozen=True, slots=True)
class KindModel:
    """How one station kind behaves.

    Attributes:
        temp_mean: Annual mean water temperature, °C.
        temp_range: Typical diel range (max - min), °C.
        do_mean: Daily mean dissolved oxygen, mg/L.
        do_amplitude: Half the typical diel DO swing, mg/L.
        ph_mean: pH at the daily mean DO.
        ph_per_do: pH change per mg/L of DO above or below its mean.
        sal_mean: Annual mean salinity, ‰.
        sal_season: Seasonal half-range of salinity (dry-season intrusion), ‰.
        sal_per_m: Salinity change per metre of tide, ‰.
        rain_fresh: Salinity drop of a heavy shower, ‰.
        turb_base: Typical turbidity, NTU.
        levels: Typical levels of the other parameters, by code.
    """

    temp_mean: float
    temp_range: float
    do_mean: float
    do_amplitude: float
    ph_mean: float
    ph_per_do: float
    sal_mean: float
    sal_season: float
    sal_per_m: float
    rain_fresh: float
    turb_base: float
    levels: Mapping[str, float]


KIND_MODELS: Final[Mapping[StationKind, KindModel]] = MappingProxyType(
    {
        StationKind.SHRIMP_RIVER: KindModel(
            temp_mean=29.3, temp_range=2.4, do_mean=6.3, do_amplitude=2.5,
            ph_mean=7.9, ph_per_do=0.12, sal_mean=20.5, sal_season=5.0, sal_per_m=6.0,
            rain_fresh=4.0, turb_base=35.0,
            levels={"tan": 0.25, "nh4": 0.22, "no2": 0.08, "no3": 0.35, "po4": 0.08,
                    "tn": 1.6, "tp": 0.25, "h2s": 0.002, "alk": 120.0, "chla": 25.0,
                    "cod": 18.0, "bod5": 6.0, "toc": 7.0, "color": 40.0, "cl2": 0.01,
                    "flow": 900.0},
        ),
        StationKind.CAGE_SEA: KindModel(
            temp_mean=29.0, temp_range=1.0, do_mean=6.3, do_amplitude=0.6,
            ph_mean=8.1, ph_per_do=0.08, sal_mean=31.8, sal_season=0.7, sal_per_m=0.5,
            rain_fresh=0.8, turb_base=4.0,
            levels={"tan": 0.06, "nh4": 0.05, "no2": 0.01, "no3": 0.05, "po4": 0.03,
                    "tn": 0.4, "tp": 0.05, "h2s": 0.001, "alk": 116.0, "chla": 4.0,
                    "cod": 4.0, "bod5": 1.5, "toc": 2.0, "color": 5.0, "cl2": 0.0,
                    "flow": 0.0},
        ),
        StationKind.EFFLUENT: KindModel(
            temp_mean=30.5, temp_range=2.0, do_mean=2.6, do_amplitude=0.8,
            ph_mean=7.3, ph_per_do=0.05, sal_mean=2.0, sal_season=0.5, sal_per_m=0.5,
            rain_fresh=1.0, turb_base=45.0,
            levels={"tan": 6.5, "nh4": 6.0, "no2": 0.4, "no3": 2.0, "po4": 1.2, "tn": 18.0,
                    "tp": 2.2, "h2s": 0.05, "alk": 150.0, "chla": 10.0, "cod": 70.0,
                    "bod5": 32.0, "toc": 23.0, "color": 60.0, "cl2": 0.3, "flow": 60.0,
                    "tss": 55.0},
        ),
    }
)  # fmt: skip

RESOLUTION: Final[Mapping[str, int]] = MappingProxyType(
    {
        "temp": 2,
        "ph": 2,
        "do": 2,
        "sal": 2,
        "cond": 0,
        "turb": 1,
        "tss": 1,
        "cod": 1,
        "bod5": 1,
        "toc": 1,
        "nh4": 3,
        "tan": 3,
        "no2": 3,
        "no3": 3,
        "po4": 3,
        "tn": 2,
        "tp": 3,
        "h2s": 4,
        "alk": 1,
        "chla": 2,
        "flow": 1,
        "level": 3,
        "color": 0,
        "cl2": 3,
    }
)
"""Decimals a sensor reports, by parameter code."""

VALID: Final[Mapping[str, tuple[float, float]]] = MappingProxyType(
    {
        "temp": (0.0, 45.0),
        "ph": (2.0, 12.0),
        "do": (0.05, 20.0),
        "sal": (0.0, 42.0),
        "cond": (0.0, 70_000.0),
        "level": (0.0, 10.0),
    }
)
"""Physically possible range by code; codes not listed are non-negative."""

NOISE: Final[Mapping[str, float]] = MappingProxyType(
    {"temp": 0.03, "ph": 0.01, "do": 0.05, "sal": 0.04, "level": 0.003}
)
"""Absolute sensor noise (one sigma) by code; codes not listed get 3 % relative noise."""
