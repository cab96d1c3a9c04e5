"""The dawn DO forecast: warn at dusk that oxygen will fall below the critical level by dawn.

Pond and river DO falls all night and is lowest just before sunrise. Once the evening has
enough samples (``fit_after_s`` after sunset), linear and log-linear fits over the evening
are projected to sunrise (``alerts.kernels.forecast``) and the forecast warns on the lower
(REFERENCE §4): when the lower projection stays below ``critical`` for ``hold_s``
(recomputed each tick over that past hour, so no state is kept) an ADVISORY opens, and it
escalates to a WARNING once both models agree that dawn DO will be below ``critical``.
One episode per station and night (its identity is tied to the night), resolved at sunrise
or when the lower projection recovers. Shrimp rivers and cage sites only.

Why two tiers: measured nights disagree with both models by about a milligram. On the 55
nights of the Grand Bay 2021 record (``tests/alerts/detectors/test_real_data_dawn.py``), three
hours after sunset the linear projection errs by 1.4 mg/L on average (bias -0.9), the
log-linear one by 0.9 (bias -0.3); "lower below 3 mg/L" caught both nights that fell
below 3 mg/L and also fired on 15 nights that stayed above 3.5 mg/L, "both below" caught
both and fired on 10. So the lower projection gives the early, cautious advisory and the
agreement of the two the warning a farmer gets by SMS.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from alerts.detectors.findings import AlertEpisode, Findings, RuleAt
from alerts.kernels.forecast import dawn_do_projection
from alerts.kernels.sun import night_window
from alerts.kernels.window import Window
from alerts.states import AlertFamily, BuiltinRule, Severity
from stations import StationKind

RULE: Final = BuiltinRule.DAWN_FORECAST
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
    only: npt.NDArray[np.int64] | None = None,
) -> Findings:
    """Episodes of stations whose projected dawn DO is below ``critical``, and the clear ones.

    Args:
        window: The stations' window.
        usable: Its values with suspect and failed data as NaN.
        now: The tick's time.
        critical: Projected DO (mg/L) that opens the forecast (REFERENCE §4: 3 for shrimp).
        recovered: Projected DO at or above which an open forecast resolves.
        fit_after_s: Evening data needed after sunset before projecting.
        hold_s: How long the projection must stay below ``critical`` to open.
        only: Forecast only these stations (window indexes); all of them if None.
    """
    stations = np.array(
        [i for i, s in enumerate(window.stations) if s.kind in _KINDS], dtype=np.int64
    )
    if only is not None:
        stations = np.intersect1d(stations, only)
    rows = window.station_rows("do")[stations]
    stations, rows = stations[rows >= 0], rows[rows >= 0]
    if not len(stations):
        return Findings()
    lat = np.array([window.stations[i].latitude for i in stations])
    lon = np.array([window.stations[i].longitude for i in stations])
    sunset, sunrise = night_window(lat, lon, now=now)
    night = (sunset + fit_after_s <= now) & (now < sunrise)
    clear: dict[RuleAt, float] = {
        (window.station_ids[i], RULE): now for i in stations[~night].tolist()
    }
    if not night.any():
        return Findings(clear=clear)
    stations, rows, sunset, sunrise = stations[night], rows[night], sunset[night], sunrise[night]
    # Only the columns since the earliest sunset matter to the fits.
    first = int(np.searchsorted(window.times, sunset.min()))
    times, evening = window.times[first:], usable[rows, first:]
    min_points = max(3, int(fit_after_s // window.step) // 2)
    # The projection at each grid instant of the past hold_s, newest last.
    instants = times[times <= now][-(int(hold_s // window.step) + 1) :]
    below = np.ones(len(stations), dtype=np.bool_)
    agreed = np.zeros((len(instants), len(stations)), dtype=np.bool_)
    linear = loglinear = np.full(len(stations), np.nan)
    for k, instant in enumerate(instants):
        linear, loglinear, lower = dawn_do_projection(
            times,
            evening,
            sunset=sunset,
            sunrise=sunrise,
            now=float(instant),
            min_points=min_points,
        )
        at_night = (sunset + fit_after_s <= instant) & (instant < sunrise)
        below &= at_night & (lower < critical)
        agreed[k] = at_night & (np.fmax(linear, loglinear) < critical)
    # Agreement now, and since which instant of the past hold_s it has lasted.
    since = len(instants) - np.argmin(agreed[::-1], axis=0)
    since[agreed.all(axis=0)] = 0
    episodes: list[AlertEpisode] = []
    for i, station in enumerate(stations.tolist()):
        station_id = window.station_ids[station]
        value = float(np.fmin(linear[i], loglinear[i]))
        if below[i]:
            due = float(sunset[i] + fit_after_s)
            escalations: tuple[tuple[float, Severity], ...] = ((due, Severity.ADVISORY),)
            if since[i] == 0:
                escalations = ((due, Severity.WARNING),)
            elif agreed[-1, i]:
                escalations += ((max(due, float(instants[since[i]])), Severity.WARNING),)
            episodes.append(
                AlertEpisode(
                    station_id=station_id,
                    rule_id=RULE,
                    family=AlertFamily.TREND,
                    opened_at=due,
                    severity=escalations[-1][1],
                    escalations=escalations,
                    continues=True,
                    value=value,
                    details={
                        "projected_do": round(value, 2),
                        "projected_do_linear": round(float(linear[i]), 2),
                        "projected_do_loglinear": round(float(loglinear[i]), 2),
                        "sunrise": float(sunrise[i]),
                        "message_vi": f"Dự báo oxy lúc rạng sáng {value:.1f} mg/L:"
                        " chuẩn bị chạy quạt nước ngay tối nay",
                        "message_en": f"Dawn DO forecast {value:.1f} mg/L:"
                        " get aerators running tonight",
                    },
                )
            )
        elif value >= recovered:
            clear[(station_id, RULE)] = now
    return Findings(tuple(episodes), clear)
