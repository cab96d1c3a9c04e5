"""The dawn DO forecast: warn at dusk that oxygen will fall below the critical level by dawn.

Pond and river DO falls all night and is lowest just before sunrise. Once the evening has
enough samples (``fit_after_s`` after sunset), linear and log-linear fits over the evening
are projected to sunrise (``alerts.forecast``). The decision uses the log-linear projection
(Madenjian et al. 1987 found it the more accurate): on physically plausible nights the
night-time decline slows as reaeration grows, and the linear projection from the steep
early-evening slope falls below 1 mg/L on nights that end above 4 mg/L, which would alarm
every farmer every night. The log-linear projection must stay below ``critical`` for
``hold_s`` (recomputed each tick over that past hour, so no state is kept) to open; both
projections are kept in the alert. One episode per station and night (its identity is tied
to the night), resolved at sunrise or when the projection recovers. Shrimp rivers and cage
sites only.

Not yet calibrated: both models decay toward zero while the real decline levels off, so on
simulated healthy nights (dawn DO 3.0-3.6 mg/L) the log-linear projection still dips to
about 2 mg/L. Until it is calibrated on measured pond nights, the forecast is an ADVISORY
(below the tiers farmers get by SMS by default); the threshold alerts on measured DO are
what escalate.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from alerts.forecast import dawn_do_projection
from alerts.lifecycle import Episode, Severity
from alerts.sun import night_window
from alerts.window import Window
from stations import StationKind

RULE: Final = "forecast.do.dawn"
_KINDS: Final = (StationKind.SHRIMP_RIVER, StationKind.CAGE_SEA)


def dawn_forecast(
    window: Window,
    usable: np.ndarray,
    *,
    now: float,
    critical: float = 3.0,
    recovered: float = 3.5,
    fit_after_s: float = 7200.0,
    hold_s: float = 3600.0,
) -> tuple[list[Episode], dict[tuple[str, str], float]]:
    """Episodes of stations whose projected dawn DO is below ``critical``, and the clear ones.

    Args:
        window: The stations' window.
        usable: Its values with suspect and failed data as NaN.
        now: The tick's time.
        critical: Projected DO (mg/L) that opens the forecast (REFERENCE §4: 3 for shrimp).
        recovered: Projected DO at or above which an open forecast resolves.
        fit_after_s: Evening data needed after sunset before projecting.
        hold_s: How long the projection must stay below ``critical`` to open.
    """
    stations = np.array(
        [i for i, s in enumerate(window.stations) if s.kind in _KINDS], dtype=np.int64
    )
    rows = window.station_rows("do")[stations]
    stations, rows = stations[rows >= 0], rows[rows >= 0]
    if not len(stations):
        return [], {}
    lat = np.array([window.stations[i].latitude for i in stations])
    lon = np.array([window.stations[i].longitude for i in stations])
    sunset, sunrise = night_window(lat, lon, now=now)
    night = (sunset + fit_after_s <= now) & (now < sunrise)
    clear = {(window.station_ids[i], RULE): now for i in stations[~night].tolist()}
    if not night.any():
        return [], clear
    stations, rows, sunset, sunrise = stations[night], rows[night], sunset[night], sunrise[night]
    # Only the columns since the earliest sunset matter to the fits.
    first = int(np.searchsorted(window.times, sunset.min()))
    times, evening = window.times[first:], usable[rows, first:]
    min_points = max(3, int(fit_after_s // window.step) // 2)
    # The projection at each grid instant of the past hold_s, newest last.
    instants = times[times <= now][-(int(hold_s // window.step) + 1) :]
    below = np.ones(len(stations), dtype=np.bool_)
    linear = loglinear = np.full(len(stations), np.nan)
    for instant in instants:
        linear, loglinear, _ = dawn_do_projection(
            times, evening, sunset=sunset, sunrise=sunrise, now=float(instant),
            min_points=min_points,
        )  # fmt: skip
        at_night = (sunset + fit_after_s <= instant) & (instant < sunrise)
        below &= at_night & (loglinear < critical)
    episodes: list[Episode] = []
    for i, station in enumerate(stations.tolist()):
        station_id = window.station_ids[station]
        value = float(loglinear[i])
        if below[i]:
            due = float(sunset[i] + fit_after_s)
            tier = Severity.ADVISORY
            episodes.append(Episode(
                station_id=station_id, rule_id=RULE, family="trend", opened_at=due,
                severity=tier, escalations=((due, tier),), continues=True, value=value,
                details={"projected_do": round(value, 2),
                         "projected_do_linear": round(float(linear[i]), 2),
                         "sunrise": float(sunrise[i]),
                         "message_vi": f"Dự báo oxy lúc rạng sáng {value:.1f} mg/L:"
                                       " chuẩn bị chạy quạt nước ngay tối nay",
                         "message_en": f"Dawn DO forecast {value:.1f} mg/L:"
                                       " get aerators running tonight"},
            ))  # fmt: skip
        elif value >= recovered:
            clear[(station_id, RULE)] = now
    return episodes, clear
