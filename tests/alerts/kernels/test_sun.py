"""Sunrise and sunset against an independent algorithm and known local times.

Reference: the sunrise algorithm of the US Naval Observatory's *Almanac for Computers*
(1990), coded below in scalar form from its published steps. It uses different
approximations from the NOAA equations in alerts/sun.py (mean anomaly from the day of
the year, a fixed obliquity), so agreement within 3 minutes checks the implementation,
not a copy of it. For Rạch Giá on 2026-11-22 it gives sunrise 05:56.8 and sunset
17:34.6 local time (UTC+7).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pytest

from alerts.kernels.sun import night_window, sunrise_sunset

ICT = timezone(timedelta(hours=7))
RACH_GIA = (10.01, 105.08)
PHU_QUOC = (10.22, 103.96)


def almanac_hours_utc(latitude: float, longitude: float, day: date, *, rising: bool) -> float:
    """USNO Almanac for Computers sunrise/sunset, hours after 00:00 UTC of ``day``."""
    lng_hour = longitude / 15
    t = day.timetuple().tm_yday + ((6 if rising else 18) - lng_hour) / 24
    mean_anomaly = 0.9856 * t - 3.289
    m = math.radians(mean_anomaly)
    true_long = (mean_anomaly + 1.916 * math.sin(m) + 0.020 * math.sin(2 * m) + 282.634) % 360
    right_ascension = math.degrees(math.atan(0.91764 * math.tan(math.radians(true_long)))) % 360
    right_ascension += math.floor(true_long / 90) * 90 - math.floor(right_ascension / 90) * 90
    sin_dec = 0.39782 * math.sin(math.radians(true_long))
    cos_dec = math.cos(math.asin(sin_dec))
    lat = math.radians(latitude)
    cos_h = (math.cos(math.radians(90.833)) - sin_dec * math.sin(lat)) / (cos_dec * math.cos(lat))
    hour_angle = math.degrees(math.acos(cos_h))
    hour_angle = (360 - hour_angle if rising else hour_angle) / 15
    local_mean = hour_angle + right_ascension / 15 - 0.06571 * t - 6.622
    return (local_mean - lng_hour) % 24


def local(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, ICT)


def test_rach_gia_on_22_november_2026() -> None:
    noon = datetime(2026, 11, 22, 12, tzinfo=ICT).timestamp()
    sunrise, sunset = sunrise_sunset(*RACH_GIA, day=noon)
    rise, set_ = local(float(sunrise)), local(float(sunset))
    assert (rise.date(), rise.hour, rise.minute // 10) == (date(2026, 11, 22), 5, 5)  # 05:5x
    assert (set_.date(), set_.hour, set_.minute // 10) == (date(2026, 11, 22), 17, 3)  # 17:3x
    midnight_utc = datetime(2026, 11, 22, tzinfo=UTC).timestamp()
    for event, rising in ((float(sunrise), True), (float(sunset), False)):
        reference = almanac_hours_utc(*RACH_GIA, date(2026, 11, 22), rising=rising)
        # the Almanac's sunrise falls on the previous UTC day (22:56 UTC)
        expected = midnight_utc + 3600 * (reference - (24 if reference > 12 and rising else 0))
        assert abs(event - expected) <= 180


@pytest.mark.parametrize("day", [date(2026, 3, 20), date(2026, 6, 21), date(2026, 12, 21)])
def test_vectorised_over_stations_and_days(day: date) -> None:
    latitudes = np.array([RACH_GIA[0], PHU_QUOC[0]])
    longitudes = np.array([RACH_GIA[1], PHU_QUOC[1]])
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=ICT).timestamp()
    sunrise, sunset = sunrise_sunset(latitudes, longitudes, day=noon)
    assert sunrise.shape == sunset.shape == (2,)
    midnight_utc = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    for i, (lat, lon) in enumerate(zip(latitudes, longitudes, strict=True)):
        rise_ref = almanac_hours_utc(lat, lon, day, rising=True) - 24
        set_ref = almanac_hours_utc(lat, lon, day, rising=False)
        assert abs(sunrise[i] - (midnight_utc + 3600 * rise_ref)) <= 180
        assert abs(sunset[i] - (midnight_utc + 3600 * set_ref)) <= 180
    # Near 10° N the day is 11.5-12.8 h long all year.
    assert np.all((sunset - sunrise > 11.4 * 3600) & (sunset - sunrise < 12.9 * 3600))


def test_no_sunrise_in_the_polar_night() -> None:
    noon = datetime(2026, 12, 21, 12, tzinfo=UTC).timestamp()
    sunrise, sunset = sunrise_sunset([80.0, 10.0], [15.0, 105.0], day=noon)
    assert np.isnan([sunrise[0], sunset[0]]).all()
    assert np.isfinite([sunrise[1], sunset[1]]).all()


@pytest.mark.parametrize(
    ("hour", "sunset_day", "sunrise_day", "night"),
    [(20, 22, 23, True), (3, 21, 22, True), (12, 21, 22, False)],
)
def test_night_window(hour: int, sunset_day: int, sunrise_day: int, night: bool) -> None:
    now = datetime(2026, 11, 22, hour, tzinfo=ICT).timestamp()
    sunset, sunrise = night_window([RACH_GIA[0]], [RACH_GIA[1]], now=now)
    assert local(float(sunset[0])).day == sunset_day
    assert local(float(sunset[0])).hour == 17
    assert local(float(sunrise[0])).day == sunrise_day
    assert local(float(sunrise[0])).hour == 5
    assert bool(sunset[0] <= now < sunrise[0]) == night
