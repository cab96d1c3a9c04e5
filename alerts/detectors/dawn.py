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

Ten false warnings in 55 nights is still more than one a week. Both models over-predict the
fall at most sites (their bias on Grand Bay is negative), and how much depends on the site's
night respiration, so the warning learns it per station (:class:`NightMemory`): after each
night the measured minimum is compared with the agreed projection three hours after sunset,
and the median of the last seven nights' excess, when positive, is added to tonight's
projection before it is compared with ``critical``. It only ever relaxes the warning (a
station whose nights fall faster than projected keeps the plain rule), and it needs three
learnt nights (after a restart the plain rule holds until then). Replayed over Grand Bay
2021 through the engine (``python -m bench.false_alarms``), the warnings fall from 14 to
10, those with no DO below 3 mg/L within the next 12 h from 1.26 to 0.76 per
station-week, and they still come before the same 5 of the record's 7 hypoxic episodes
(most of them in the morning after sunrise, with the tide).

Every grid instant since the previous call is judged (``NightMemory.last_now``), so the
forecast says the same whether the engine ticks every 10 s or a backtest every 6 h.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from alerts.detectors.findings import AlertEpisode, Findings, RuleAt
from alerts.kernels.forecast import dawn_do_projection, dawn_do_projections
from alerts.kernels.sun import night_window
from alerts.kernels.window import Window
from alerts.states import AlertFamily, BuiltinRule, Severity
from stations import StationKind

RULE: Final = BuiltinRule.DAWN_FORECAST
_KINDS: Final = (StationKind.SHRIMP_RIVER, StationKind.CAGE_SEA)
FloatArray = npt.NDArray[np.float64]


@dataclass
class NightMemory:
    """Per station, how far its recent nights stayed above the dusk projection.

    Attributes:
        nights: How many recent nights count.
        learn_after_s: When after sunset the projection that is judged is made.
        min_nights: Nights needed before any correction.
        coverage: Share of a night's samples needed to learn from it.
    """

    nights: int = 7
    learn_after_s: float = 3 * 3600.0
    min_nights: int = 3
    coverage: float = 0.8
    excess: dict[str, deque[float]] = field(default_factory=dict)
    last_now: float | None = None  # the previous call's time
    learnt: dict[str, float] = field(default_factory=dict)  # station → last sunset learnt

    def bias(self, station_id: str) -> float:
        """How much to add to tonight's projection (mg/L, never negative)."""
        recent = self.excess.get(station_id, ())
        if len(recent) < self.min_nights:
            return 0.0
        return max(0.0, float(np.median(list(recent))))

    def learn(
        self,
        window: Window,
        evening: FloatArray,
        *,
        stations: npt.NDArray[np.int64],
        sunset: FloatArray,
        sunrise: FloatArray,
        min_points: int,
    ) -> None:
        """Learn from each station's last night once it is over (rows of ``evening``)."""
        times = window.times
        for i, station in enumerate(stations.tolist()):
            station_id = window.station_ids[station]
            start, end = float(sunset[i]), float(sunrise[i])
            if self.learnt.get(station_id) == start or times[-1] < end + 1800 or times[0] > start:
                continue
            self.learnt[station_id] = start
            night = (times >= start) & (times <= end + 1800)
            values = evening[i, night]
            if not len(values) or np.isnan(values).mean() > 1 - self.coverage:
                continue
            linear, loglinear, _ = dawn_do_projection(
                times[night],
                values[np.newaxis],
                sunset=start,
                sunrise=end,
                now=start + self.learn_after_s,
                min_points=min_points,
            )
            agreed = float(np.fmax(linear[0], loglinear[0]))
            if np.isfinite(agreed):
                recent = self.excess.setdefault(station_id, deque(maxlen=self.nights))
                recent.append(float(np.nanmin(values)) - agreed)


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
    memory: NightMemory | None = None,
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
        memory: What the station's recent nights taught (relaxes the warning) and when
            the forecast last ran (the instants since are all judged); None for the plain
            rule judged at ``now`` alone.
    """
    previous = now if memory is None or memory.last_now is None else memory.last_now
    if memory is not None:
        memory.last_now = now
    # A tick asks about the few stations with new DO data (``only``): never a loop over all.
    chosen = range(len(window.stations)) if only is None else np.unique(only).tolist()
    stations = np.array([i for i in chosen if window.stations[i].kind in _KINDS], dtype=np.int64)
    rows = window.station_rows("do")[stations]
    stations, rows = stations[rows >= 0], rows[rows >= 0]
    if not len(stations):
        return Findings()
    lat = np.array([window.stations[i].latitude for i in stations])
    lon = np.array([window.stations[i].longitude for i in stations])
    sunset, sunrise = night_window(lat, lon, now=now)
    # Stations with instants to judge at night since the last call (now, without memory).
    night = (sunset + fit_after_s <= now) & (min(previous, now) < sunrise)
    day = now >= sunrise
    min_points = max(3, int(fit_after_s // window.step) // 2)
    bias = np.zeros(len(stations))
    if memory is not None:
        over = day
        memory.learn(
            window,
            usable[rows[over]],
            stations=stations[over],
            sunset=sunset[over],
            sunrise=sunrise[over],
            min_points=min_points,
        )
        bias = np.array([memory.bias(window.station_ids[i]) for i in stations.tolist()])
    # By day a night's forecast is over from its sunrise, whenever the tick comes.
    ended = np.where(now >= sunrise, sunrise, now)
    clear: dict[RuleAt, float] = {
        (window.station_ids[i], RULE): float(ended[k])
        for k, i in enumerate(stations.tolist())
        if not night[k]
    }
    if not night.any():
        return Findings(clear=clear)
    stations, rows, sunset, sunrise = stations[night], rows[night], sunset[night], sunrise[night]
    bias, day = bias[night], day[night]
    # Only the columns since the earliest sunset matter to the fits.
    first = int(np.searchsorted(window.times, sunset.min()))
    times, evening = window.times[first:], usable[rows, first:]
    # The projection at each grid instant that ends a hold period since the last call (the
    # newest alone without memory), and the hold_s before it, newest last: whatever the
    # time between calls, every instant is judged once, as if a tick had come at each.
    hold = int(hold_s // window.step)
    past = times[times <= now]
    ends = max(1, int(np.sum(past > min(previous, now))))
    instants = past[-(ends + hold) :]
    linear_k, loglinear_k = dawn_do_projections(
        times, evening, sunset=sunset, sunrise=sunrise, instants=instants, min_points=min_points
    )
    lower_k = np.fmin(linear_k, loglinear_k)
    at_night = (sunset + fit_after_s <= instants[:, None]) & (instants[:, None] < sunrise)
    recovered_k = at_night & (lower_k >= recovered)
    agreed = at_night & (np.fmax(linear_k, loglinear_k) + bias < critical)
    lower_k = at_night & (lower_k < critical)
    linear, loglinear = linear_k[-1], loglinear_k[-1]
    below_run, agreed_run = _runs(lower_k), _runs(agreed)
    judged = slice(len(instants) - min(ends, len(instants)), None)
    opens: npt.NDArray[np.bool_] = below_run[judged] >= min(hold + 1, len(instants))
    below: npt.NDArray[np.bool_] = np.asarray(opens.any(axis=0))
    # The first judged instant at which the forecast held and both models agreed, and
    # since when they had agreed (the whole hold period: from the forecast's due time).
    warns = opens & (agreed_run[judged] > 0)
    first_warning = np.argmax(warns, axis=0)
    warned: npt.NDArray[np.bool_] = np.asarray(warns.any(axis=0))
    offset = len(instants) - min(ends, len(instants))
    agree_length = agreed_run[offset + first_warning, np.arange(len(stations))]
    agree_start = instants[np.clip(offset + first_warning - agree_length + 1, 0, len(instants) - 1)]
    whole_hold: npt.NDArray[np.bool_] = np.asarray(agree_length >= min(hold + 1, len(instants)))
    # The first judged instant at which the projection recovered, after the forecast held.
    held_before = np.cumsum(opens, axis=0) > 0
    recovers = recovered_k[judged] & (held_before | ~below)
    recovered_at = instants[offset + np.argmax(recovers, axis=0)]
    recovered_any: npt.NDArray[np.bool_] = np.asarray(recovers.any(axis=0))
    episodes: list[AlertEpisode] = []
    for i, station in enumerate(stations.tolist()):
        station_id = window.station_ids[station]
        value = float(np.fmin(linear[i], loglinear[i]))
        if below[i]:
            due = float(sunset[i] + fit_after_s)
            escalations: tuple[tuple[float, Severity], ...] = ((due, Severity.ADVISORY),)
            if warned[i] and whole_hold[i]:
                escalations = ((due, Severity.WARNING),)
            elif warned[i]:
                escalations += ((max(due, float(agree_start[i])), Severity.WARNING),)
            episodes.append(
                AlertEpisode(
                    station_id=station_id,
                    rule_id=RULE,
                    family=AlertFamily.TREND,
                    opened_at=due,
                    severity=escalations[-1][1],
                    escalations=escalations,
                    continues=True,
                    resolved_at=float(recovered_at[i])
                    if recovered_any[i]
                    else (float(sunrise[i]) if day[i] else None),
                    value=value,
                    details={
                        "projected_do": round(value, 2),
                        "projected_do_linear": round(float(linear[i]), 2),
                        "projected_do_loglinear": round(float(loglinear[i]), 2),
                        "night_bias": round(float(bias[i]), 2),
                        "sunrise": float(sunrise[i]),
                        "message_vi": f"Dự báo oxy lúc rạng sáng {value:.1f} mg/L:"
                        " chuẩn bị chạy quạt nước ngay tối nay",
                        "message_en": f"Dawn DO forecast {value:.1f} mg/L:"
                        " get aerators running tonight",
                    },
                )
            )
        elif recovered_any[i]:
            clear[(station_id, RULE)] = float(recovered_at[i])
        elif day[i]:
            clear[(station_id, RULE)] = float(sunrise[i])
    return Findings(tuple(episodes), clear)


def _runs(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """(K, S): how many consecutive instants up to each one had the flag set."""
    runs = np.zeros(flags.shape, dtype=np.int64)
    count = np.zeros(flags.shape[1], dtype=np.int64)
    for k in range(flags.shape[0]):
        count = np.where(flags[k], count + 1, 0)
        runs[k] = count
    return runs
