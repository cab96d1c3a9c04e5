"""Water chemistry: oxygen saturation and un-ionized ammonia, vectorised over any shape.

Arrays in, a float64 array out (broadcast over the inputs), NaN where an input is missing.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_KELVIN: Final = 273.15
NH3_PER_N: Final = 17.03 / 14.01  # mg NH3 per mg NH3-N


def do_saturation(temp_c: npt.ArrayLike, salinity: npt.ArrayLike) -> FloatArray:
    """Dissolved-oxygen concentration at saturation, C* in mg/L at 1 atm.

    Benson & Krause (1984) as used by APHA 4500-O and USGS (REFERENCE §3).

    Args:
        temp_c: Water temperature, °C.
        salinity: Practical salinity (‰ ≈ psu).

    Returns:
        C* in mg/L, broadcast over the inputs; NaN where an input is NaN.
    """
    t = np.asarray(temp_c, dtype=np.float64) + _KELVIN
    s = np.asarray(salinity, dtype=np.float64)
    ln_c = (
        -139.34411
        + 1.575701e5 / t
        - 6.642308e7 / t**2
        + 1.243800e10 / t**3
        - 8.621949e11 / t**4
        - s * (0.017674 - 10.754 / t + 2140.7 / t**2)
    )
    result: FloatArray = np.exp(ln_c)
    return result


def do_percent_saturation(
    do: npt.ArrayLike, temp_c: npt.ArrayLike, salinity: npt.ArrayLike
) -> FloatArray:
    """Dissolved oxygen as % of saturation: ``100 · DO / C*`` (DO in mg/L)."""
    result: FloatArray = 100.0 * np.asarray(do, dtype=np.float64) / do_saturation(temp_c, salinity)
    return result


def unionized_ammonia_fraction(ph: npt.ArrayLike, temp_c: npt.ArrayLike) -> FloatArray:
    """Fraction of total ammonia present as NH3 (Emerson et al. 1975, fresh water).

    ``pKa = 0.09018 + 2729.92 / T(K)`` and ``f = 1 / (1 + 10^(pKa - pH))``.

    Salinity is deliberately not an input. Field probes report pH on the NBS scale, and on
    that scale the NH4+ pKa *rises* with ionic strength, so in brackish and sea water the
    true NH3 fraction is lower than the fresh-water value (by roughly 10-25 % at 15-35 ‰):
    the fresh-water figure errs high, the safe side for a toxicity warning. The published
    seawater constants (Khoo et al. 1977; Millero 1995; Clegg & Whitfield 1995) are on
    the total or free hydrogen-ion scale, not comparable to a probe's NBS pH without a
    scale conversion, and the Khoo expression carries a known error (Bell et al. 2007).

    Args:
        ph: pH (NBS scale, as probes report it).
        temp_c: Water temperature, °C.

    Returns:
        The NH3 fraction (0-1), broadcast over the inputs.
    """
    pka = 0.09018 + 2729.92 / (np.asarray(temp_c, dtype=np.float64) + _KELVIN)
    result: FloatArray = 1.0 / (1.0 + 10.0 ** (pka - np.asarray(ph, dtype=np.float64)))
    return result


def unionized_ammonia(tan: npt.ArrayLike, ph: npt.ArrayLike, temp_c: npt.ArrayLike) -> FloatArray:
    """Un-ionized ammonia ``NH3 = TAN · f`` in the unit of ``tan`` (mg/L N stays mg/L N).

    See :func:`unionized_ammonia_fraction` for the constant and why salinity is not used.
    """
    result: FloatArray = np.asarray(tan, dtype=np.float64) * unionized_ammonia_fraction(ph, temp_c)
    return result
