"""Sunrise and sunset, vectorised over stations (NOAA solar calculator equations).

The equations are those of the NOAA Global Monitoring Laboratory solar calculator
(after Meeus, *Astronomical Algorithms*): the sun's declination and the equation of
time from the Julian century, the hour angle of the apparent sunrise at a zenith of
90.833° (refraction and the solar disc). The sun's position is evaluated once at solar
noon and again at each event; the result is good to about a minute between the polar
circles. Where the sun does not rise or set that day the result is NaN.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_DAY: Final = 86_400.0
_UNIX_EPOCH_JD: Final = 2_440_587.5
_J2000: Final = 2_451_545.0
_ZENITH: Final = np.radians(90.833)


def _solar_position(jd: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Declination (radians) and equation of time (minutes) at Julian day ``jd``."""
    jc = (jd - _J2000) / 36_525.0
    mean_long = np.radians((280.46646 + jc * (36_000.76983 + jc * 0.0003032)) % 360.0)
    anomaly = np.radians(357.52911 + jc * (35_999.05029 - 0.0001537 * jc))
    eccentricity = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc)
    centre = (
        np.sin(anomaly) * (1.914602 - jc * (0.004817 + 0.000014 * jc))
        + np.sin(2 * anomaly) * (0.019993 - 0.000101 * jc)
        + np.sin(3 * anomaly) * 0.000289
    )
    omega = np.radians(125.04 - 1934.136 * jc)
    apparent_long = np.radians(np.degrees(mean_long) + centre - 0.00569 - 0.00478 * np.sin(omega))
    mean_obliquity = (
        23.0 + (26.0 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60) / 60
    )
    obliquity = np.radians(mean_obliquity + 0.00256 * np.cos(omega))
    declination = np.arcsin(np.sin(obliquity) * np.sin(apparent_long))
    y = np.tan(obliquity / 2) ** 2
    equation_of_time = 4.0 * np.degrees(
        y * np.sin(2 * mean_long)
        - 2 * eccentricity * np.sin(anomaly)
        + 4 * eccentricity * y * np.sin(anomaly) * np.cos(2 * mean_long)
        - 0.5 * y * y * np.sin(4 * mean_long)
        - 1.25 * eccentricity**2 * np.sin(2 * anomaly)
    )
    return declination, equation_of_time


def _event_minutes(
    latitude: FloatArray, longitude: FloatArray, midnight: FloatArray, guess: FloatArray, sign: int
) -> FloatArray:
    """Minutes after UTC ``midnight`` of sunrise (sign -1) or sunset (+1), near ``guess``."""
    declination, equation_of_time = _solar_position(_UNIX_EPOCH_JD + (midnight + guess * 60) / _DAY)
    phi = np.radians(latitude)
    with np.errstate(invalid="ignore"):
        hour_angle = np.degrees(
            np.arccos(
                np.cos(_ZENITH) / (np.cos(phi) * np.cos(declination))
                - np.tan(phi) * np.tan(declination)
            )
        )
    noon = 720.0 - 4.0 * longitude - equation_of_time
    result: FloatArray = noon + sign * 4.0 * hour_angle
    return result


def sunrise_sunset(
    latitude: npt.ArrayLike, longitude: npt.ArrayLike, *, day: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Sunrise and sunset of the local solar day containing each instant ``day``.

    The local solar day runs from mean solar midnight to midnight at the station's
    longitude (within about half an hour of the civil day for Vietnam, UTC+7 at 105° E),
    so no time zone is needed.

    Args:
        latitude: Degrees north, shape (S,) or scalar.
        longitude: Degrees east, shape (S,) or scalar.
        day: Any epoch second (UTC) within the wanted day, broadcast with the others.

    Returns:
        (sunrise, sunset) as UTC epoch seconds, NaN where the sun does not rise or set.
    """
    lat, lon, when = np.broadcast_arrays(
        np.asarray(latitude, dtype=np.float64),
        np.asarray(longitude, dtype=np.float64),
        np.asarray(day, dtype=np.float64),
    )
    midnight = np.floor((when + lon * 240.0) / _DAY) * _DAY  # UTC midnight of the solar date
    noon_guess = 720.0 - 4.0 * lon
    events = []
    for sign in (-1, 1):  # sunrise, then sunset: two events, each refined once
        first = _event_minutes(lat, lon, midnight, noon_guess, sign)
        events.append(midnight + 60.0 * _event_minutes(lat, lon, midnight, first, sign))
    return events[0], events[1]


def night_window(
    latitude: npt.ArrayLike, longitude: npt.ArrayLike, *, now: float
) -> tuple[FloatArray, FloatArray]:
    """The latest sunset at or before ``now`` and the sunrise that follows it.

    At night (``sunset <= now < sunrise``) these bound the night being watched: the dawn
    DO projection fits from ``sunset`` and projects to ``sunrise``. In daytime the
    returned sunrise is already past (``sunrise <= now``).

    Args:
        latitude: Degrees north, shape (S,).
        longitude: Degrees east, shape (S,).
        now: The current UTC epoch second.

    Returns:
        (sunset, sunrise) as UTC epoch seconds, shape (S,).
    """
    lat = np.asarray(latitude, dtype=np.float64)
    lon = np.asarray(longitude, dtype=np.float64)
    # The same three days for every tick of a day: computed once per solar day.
    today = np.floor((now + lon * 240.0) / _DAY)
    events = _three_days(
        tuple(lat.ravel().tolist()), tuple(lon.ravel().tolist()), tuple(today.ravel().tolist())
    )
    rise_today, set_today, set_yesterday, rise_tomorrow = (e.reshape(lat.shape) for e in events)
    evening = now >= set_today
    sunset: FloatArray = np.where(evening, set_today, set_yesterday)
    sunrise: FloatArray = np.where(evening, rise_tomorrow, rise_today)
    return sunset, sunrise


@lru_cache(maxsize=64)
def _three_days(
    latitude: tuple[float, ...], longitude: tuple[float, ...], day: tuple[float, ...]
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Sunrise and sunset of solar day ``day`` (days since the epoch), yesterday's sunset
    and tomorrow's sunrise, per station."""
    lat, lon = np.array(latitude), np.array(longitude)
    noon = (np.array(day) + 0.5) * _DAY - lon * 240.0  # within each station's solar day
    rise, sunset = sunrise_sunset(lat, lon, day=noon)
    _, before = sunrise_sunset(lat, lon, day=noon - _DAY)
    after, _ = sunrise_sunset(lat, lon, day=noon + _DAY)
    return rise, sunset, before, after
