"""Every quantity a rule may judge beyond a measured parameter: one registry, and its keys.

A derived quantity says once what it needs (a station must measure one code of each group
of ``needs``), its unit, how it is computed from a window's usable series, and what people
call it (Vietnamese first, English second). The profile schema checks rules against it,
the rule detector computes from it, and messages label quantities with it
(:func:`quantity_label`).

A rule judges a :class:`SeriesKey`: a quantity, or its trailing mean over a period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, Protocol

import numpy as np
import numpy.typing as npt

from alerts.kernels import chemistry, rolling
from telemetry import PARAMETERS

FloatArray = npt.NDArray[np.float64]
Language = Literal["vi", "en"]


class QuantitySource(Protocol):
    """One window's usable series, as a derived quantity reads them.

    Every array is (stations, columns): NaN where a station does not measure the code.
    """

    @property
    def times(self) -> FloatArray:
        """(T,) epoch seconds of the whole window."""
        ...

    @property
    def last(self) -> int:
        """How many of the newest columns to compute."""
        ...

    def recent(self, code: str) -> FloatArray:
        """Parameter ``code`` over the newest ``last`` columns (point quantities)."""
        ...

    def history(self, code: str) -> FloatArray:
        """Parameter ``code`` over the whole window (trailing-window quantities)."""
        ...

    def risk_score(self) -> FloatArray:
        """The disease-risk score over the newest ``last`` columns."""
        ...


Compute = Callable[[QuantitySource], FloatArray]


@dataclass(frozen=True, slots=True)
class DerivedQuantity:
    """A quantity computed from measured parameters.

    Attributes:
        code: Its code in profiles and alerts (``do_sat``).
        unit: Unit of its values.
        needs: Groups of parameter codes; a station must measure one code of each.
        description: What it is, for people writing profiles.
        label_vi: Short Vietnamese label (SMS, boards).
        label_en: Short English label.
        compute: How to compute it from a window; None when a detector of its own produces
            it (a profile rule may not name it then).
    """

    code: str
    unit: str
    needs: tuple[tuple[str, ...], ...]
    description: str
    label_vi: str
    label_en: str
    compute: Compute | None

    def label(self, language: Language) -> str:
        """The short label in ``language``."""
        return self.label_vi if language == "vi" else self.label_en


def nh3(get: Callable[[str], FloatArray]) -> FloatArray:
    """Un-ionized ammonia as NH3 (mg/L) from TAN, or NH4+ where TAN is not measured.

    Args:
        get: Parameter code to (stations, columns) series.
    """
    tan = np.where(np.isnan(get("tan")), get("nh4"), get("tan"))
    result: FloatArray = chemistry.NH3_PER_N * chemistry.unionized_ammonia(
        tan, get("ph"), get("temp")
    )
    return result


def _do_sat(source: QuantitySource) -> FloatArray:
    get = source.recent
    return chemistry.do_percent_saturation(get("do"), get("temp"), get("sal"))


def _ph_swing(source: QuantitySource) -> FloatArray:
    return rolling.daily_range(source.history("ph"), source.times, last=source.last)


def _temp_range(source: QuantitySource) -> FloatArray:
    return rolling.daily_range(source.history("temp"), source.times, last=source.last)


def _sal_drop_24h(source: QuantitySource) -> FloatArray:
    return rolling.fall_since(source.history("sal"), source.times, last=source.last)


def _temp_change_3h(source: QuantitySource) -> FloatArray:
    return rolling.change_over(source.history("temp"), source.times, last=source.last)


def _risk_score(source: QuantitySource) -> FloatArray:
    return source.risk_score()


_DERIVED: Final = (
    DerivedQuantity(
        code="do_sat",
        unit="%",
        needs=(("do",), ("temp",)),
        description="DO % saturation (Benson & Krause)",
        label_vi="DO bão hòa",
        label_en="DO saturation",
        compute=_do_sat,
    ),
    # As NH3, like the advice's limits: from TAN in mg/L N multiply by 17.03 / 14.01.
    DerivedQuantity(
        code="nh3",
        unit="mg/L",
        needs=(("tan", "nh4"), ("temp",), ("ph",)),
        description="un-ionized ammonia, NH3",
        label_vi="NH3",
        label_en="NH3",
        compute=lambda source: nh3(source.recent),
    ),
    DerivedQuantity(
        code="ph_swing",
        unit="",
        needs=(("ph",),),
        description="pH range over the trailing 24 h",
        label_vi="pH dao động/24h",
        label_en="pH swing/24h",
        compute=_ph_swing,
    ),
    DerivedQuantity(
        code="temp_range",
        unit="°C",
        needs=(("temp",),),
        description="temperature range over the trailing 24 h",
        label_vi="Biên độ nhiệt/24h",
        label_en="Temp range/24h",
        compute=_temp_range,
    ),
    DerivedQuantity(
        code="sal_drop_24h",
        unit="‰",
        needs=(("sal",),),
        description="salinity fall since this hour yesterday",
        label_vi="Độ mặn giảm/24h",
        label_en="Salinity fall/24h",
        compute=_sal_drop_24h,
    ),
    DerivedQuantity(
        code="temp_change_3h",
        unit="°C",
        needs=(("temp",),),
        description="temperature change within the trailing 3 h",
        label_vi="Nhiệt độ đổi/3h",
        label_en="Temp change/3h",
        compute=_temp_change_3h,
    ),
    DerivedQuantity(
        code="risk_score",
        unit="score",
        needs=(("do",),),
        description="disease-risk score 0-100 (alerts/kernels/risk.py)",
        label_vi="Điểm rủi ro",
        label_en="Risk score",
        compute=_risk_score,
    ),
    DerivedQuantity(
        code="do_dawn",
        unit="mg/L",
        needs=(("do",),),
        description="DO projected to sunrise (the dawn forecast's own)",
        label_vi="DO rạng sáng",
        label_en="Dawn DO",
        compute=None,
    ),
)

DERIVED_QUANTITIES: Final = MappingProxyType({q.code: q for q in _DERIVED})
"""Every derived quantity by code."""

# Short labels of measured parameters whose catalogue names are too long for an SMS.
_PARAMETER_LABELS: Final[dict[Language, dict[str, str]]] = {
    "vi": {
        "temp": "Nhiệt độ",
        "sal": "Độ mặn",
        "tn": "Tổng N",
        "tp": "Tổng P",
        "turb": "Độ đục",
        "flow": "Lưu lượng",
        "ph": "pH",
    },
    "en": {
        "temp": "Temp",
        "sal": "Salinity",
        "tn": "Total N",
        "tp": "Total P",
        "turb": "Turbidity",
        "flow": "Flow",
        "ph": "pH",
    },
}


def quantity_label(code: str, language: Language) -> str:
    """Short label of a parameter or derived quantity (``DO``, ``Độ mặn``, ``Dawn DO``).

    A code neither derived nor measured comes back as it is.
    """
    derived = DERIVED_QUANTITIES.get(code)
    if derived is not None:
        return derived.label(language)
    label = _PARAMETER_LABELS[language].get(code)
    if label is not None:
        return label
    return code.upper() if code in PARAMETERS else code


def _period(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """What a rule evaluates: a quantity, or its trailing mean over ``average_s``.

    ``str()`` gives the name stored in ``threshold_profiles.series``: the quantity's code,
    or ``<quantity>_mean_<period>`` (``cod_mean_1h``).
    """

    quantity: str
    average_s: float | None = None

    def __str__(self) -> str:
        if self.average_s is None:
            return self.quantity
        return f"{self.quantity}_mean_{_period(self.average_s)}"
