"""Counter-based random numbers: the same (seed, station, stream, time) always gives the same draw.

A numpy ``Generator`` gives draws that depend on how many were taken before, so a run that
generates a day in one call and a run that generates it sample by sample (``--speed``) would
disagree. Hashing the sampling time instead (SplitMix64, vectorised on ``uint64`` arrays) makes
every value a pure function of its key and time, whatever the chunking, the start time or the
number of stations. Keys are derived with ``zlib.crc32``, never ``hash()``, which is salted per
process.
"""

from __future__ import annotations

import zlib
from typing import Final

import numpy as np
from numpy.typing import NDArray

_MASK: Final = (1 << 64) - 1
_GOLDEN: Final = 0x9E3779B97F4A7C15
_MIX1: Final = 0xBF58476D1CE4E5B9
_MIX2: Final = 0x94D049BB133111EB
_TO_UNIT: Final = 2.0**-53
_U_GOLDEN: Final = np.uint64(_GOLDEN)
_U_MIX1: Final = np.uint64(_MIX1)
_U_MIX2: Final = np.uint64(_MIX2)
_U30: Final = np.uint64(30)
_U27: Final = np.uint64(27)
_U31: Final = np.uint64(31)
_U11: Final = np.uint64(11)

FloatArray = NDArray[np.float64]


def _mix_int(value: int) -> int:
    """SplitMix64 finaliser on a Python int (keys are derived once, outside hot loops)."""
    value = (value + _GOLDEN) & _MASK
    value = ((value ^ (value >> 30)) * _MIX1) & _MASK
    value = ((value ^ (value >> 27)) * _MIX2) & _MASK
    return value ^ (value >> 31)


def stream_key(seed: int, *names: str) -> int:
    """Return a 64-bit key for one random stream, e.g. ``stream_key(seed, "KG-SR-01", "do")``.

    Args:
        seed: The run's ``--seed``.
        *names: Stable names (station id, parameter code, purpose) separating the streams.
    """
    key = _mix_int(seed & _MASK)
    for name in names:
        key = _mix_int(key ^ zlib.crc32(name.encode("utf-8")))
    return key


def _mix(counters: NDArray[np.int64], key: int) -> NDArray[np.uint64]:
    # uint64 array arithmetic wraps modulo 2**64 without warnings, which is what SplitMix wants.
    x = counters.astype(np.uint64)
    x *= _U_GOLDEN
    x += np.uint64(key)
    x ^= x >> _U30
    x *= _U_MIX1
    x ^= x >> _U27
    x *= _U_MIX2
    x ^= x >> _U31
    return x


def uniform(key: int, counters: NDArray[np.int64]) -> FloatArray:
    """Return one uniform draw in [0, 1) per counter (e.g. per sampling second or day index)."""
    return (_mix(counters, key) >> _U11).astype(np.float64) * _TO_UNIT


def normal(key: int, counters: NDArray[np.int64]) -> FloatArray:
    """Return one standard normal draw per counter (Box-Muller on two independent streams)."""
    u1 = 1.0 - uniform(key, counters)  # (0, 1]: the logarithm stays finite
    u2 = uniform(_mix_int(key ^ 0x5DEECE66D), counters)
    result: FloatArray = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return result
