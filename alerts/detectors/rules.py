"""Threshold, trend, pollution and disease-risk rules of one window, evaluated tick by tick.

Each (station, rule) is a row. Every tick the rows of the stations that got new data (all
of them on a full pass) have their series (a parameter, or a quantity derived from several:
DO saturation, un-ionized ammonia, 24-h swings and drops, trailing means, the risk score;
see ``alerts.quantities``) built for their newest columns only, and the threshold evaluator
carries each row's state from tick to tick. A row without new data is skipped: transitions
happen only at valid samples, so evaluating it would change nothing, and a tick costs what
changed rather than the number of stations. Stations that received
late data are evaluated again over the whole window from a fresh state, and the episodes
that yields are reconciled like any other (the alerts table knows those it already holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Final

import numpy as np
import numpy.typing as npt

from alerts.config.compiled_rules import CompiledRule, DownstreamLink
from alerts.config.profile_schema import Direction
from alerts.config.threshold_profiles import Profiles
from alerts.detectors.findings import AlertEpisode, Findings, RuleAt, View
from alerts.kernels import rolling
from alerts.kernels.hysteresis import ThresholdParams, ThresholdState, Transitions, evaluate
from alerts.kernels.risk import (
    RiskFactor,
    RiskInputs,
    RiskParams,
    disease_risk,
    salinity_change,
)
from alerts.kernels.window import Window
from alerts.quantities import DERIVED_QUANTITIES, SeriesKey, nh3
from alerts.states import AlertFamily, Severity, TransitionKind

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Steps = list[tuple[float, Severity]]

RECENT_COLUMNS: Final = 3  # recent columns fed again each tick, for readings a little late


def threshold_params(rules: Sequence[CompiledRule]) -> ThresholdParams:
    """The evaluator's arrays for compiled rules, one row per rule in the given order."""
    return ThresholdParams(
        direction=np.array(
            [1 if r.direction is Direction.ABOVE else -1 for r in rules], dtype=np.int8
        ),
        tiers=np.array(
            [[np.nan if t is None else t for t in r.tiers] for r in rules], dtype=np.float64
        ).reshape(-1, 3),
        min_duration_s=np.array([r.min_duration_s for r in rules], dtype=np.float64),
        clear_band=np.array([r.clear_band for r in rules], dtype=np.float64),
        clear_duration_s=np.array([r.clear_duration_s for r in rules], dtype=np.float64),
        max_gap_s=np.array([r.max_gap_s for r in rules], dtype=np.float64),
    )


class RuleDetector:
    """The rules of one window's stations (a detector: call it with the window's view).

    Args:
        window: The stations' window.
        profiles: Threshold profiles and pollution links.
    """

    def __init__(self, window: Window, profiles: Profiles) -> None:
        self.window = window
        compiled = profiles.compile(window.stations)
        self.rules: tuple[CompiledRule, ...] = tuple(
            rule for station in window.stations for rule in compiled[station.id]
        )
        index = {sid: i for i, sid in enumerate(window.station_ids)}
        self.row_station = np.array([index[r.station_id] for r in self.rules], dtype=np.int64)
        self.params = threshold_params(self.rules)
        self.state = ThresholdState.initial(len(self.rules))
        self.opened_at = np.full(len(self.rules), np.nan)  # due time of each open episode
        self.first_tier = np.zeros(len(self.rules), dtype=np.int64)
        by_series: dict[SeriesKey, list[int]] = {}
        for row, rule in enumerate(self.rules):
            by_series.setdefault(rule.series, []).append(row)
        self.by_series = {key: np.array(rows, dtype=np.int64) for key, rows in by_series.items()}
        self.links = {s.id: profiles.downstream_of(s.id) for s in window.stations}
        self.linked_rows = [
            (row, link)
            for row, rule in enumerate(self.rules)
            if rule.family is AlertFamily.POLLUTION
            for link in self.links[rule.station_id]
        ]
        risk_configs = [profiles.risk_for(s) for s in window.stations]
        self.risk_stations = np.array(
            [i for i, c in enumerate(risk_configs) if c is not None], dtype=np.int64
        )
        self.risk_params = RiskParams.from_configs([c for c in risk_configs if c is not None])
        # Per station: the window's end when its rows were last evaluated (NaN: never).
        self.evaluated_end = np.full(len(window.stations), np.nan)
        self.risk_factors: dict[int, list[dict[str, object]]] = {}

    def __call__(self, view: View) -> Findings:
        """Evaluate the newest columns, and the whole window for stations with late data.

        ``view.full`` also reports every quiet rule as clear (the first tick after a start).
        """
        window, usable = view.window, view.usable
        times = window.times
        stations = np.arange(len(window.stations)) if view.stations is None else view.stations
        rows = np.flatnonzero(np.isin(self.row_station, stations))
        ends = self.evaluated_end[stations]
        if not len(ends) or np.isnan(ends).any():
            columns = window.filled()  # a first evaluation: all the window holds
        else:
            new = round((window.end - float(ends.min())) / window.step)
            columns = min(window.length, max(new, 0) + RECENT_COLUMNS)
        # Rows never evaluated start from scratch over all the window holds: what a redo for
        # late data would do again.
        never = np.isnan(self.evaluated_end)
        self.evaluated_end[stations] = window.end
        episodes: list[AlertEpisode] = []
        if len(rows):
            values = self._series(usable, times, last=columns, rows=rows)
            result = evaluate(
                times[-columns:], values, params=_params(self.params, rows), state=self._at(rows)
            )
            self._put(rows, result.state)
            found = result.transitions
            episodes += self._episodes(_moved(found, rows), times[-columns:])
            late = np.isin(self.row_station[rows], view.late_stations)
            redo = rows[late & ~never[self.row_station[rows]]]
            if len(redo) and columns < window.length:
                episodes += self._redo(usable, times, redo)
        episodes += self._pollution_notices(episodes)
        # After a start, rows found quiet resolve alerts opened before it; later, alerts this
        # process opened resolve through their transitions.
        return Findings(tuple(episodes), self._clear() if view.full else {})

    def _redo(self, usable: FloatArray, times: FloatArray, rows: IntArray) -> list[AlertEpisode]:
        """Evaluate rows again over the whole window from scratch (late or backfilled data)."""
        columns = self.window.filled()
        values = self._series(usable, times, last=columns, rows=rows)
        result = evaluate(
            times[-columns:],
            values,
            params=_params(self.params, rows),
            state=ThresholdState.initial(len(rows)),
        )
        self._put(rows, result.state)
        self.opened_at[rows] = np.nan
        return self._episodes(_moved(result.transitions, rows), times[-columns:])

    def _at(self, rows: IntArray) -> ThresholdState:
        """The carried state of ``rows``."""
        state = self.state
        return ThresholdState(
            tier=state.tier[rows],
            since=state.since[rows],
            clear_since=state.clear_since[rows],
            last_time=state.last_time[rows],
        )

    def _put(self, rows: IntArray, state: ThresholdState) -> None:
        """Carry ``state`` as the state of ``rows``."""
        self.state.tier[rows] = state.tier
        self.state.since[rows] = state.since
        self.state.clear_since[rows] = state.clear_since
        self.state.last_time[rows] = state.last_time

    def _episodes(self, transitions: Transitions, times: FloatArray) -> list[AlertEpisode]:
        """Turn transitions (sorted by row, then time) into episodes, carrying open ones."""
        episodes: list[AlertEpisode] = []
        current: dict[int, Steps] = {}
        first_time = float(times[0])
        for row, kind, tier, at, since, value in zip(
            transitions.row.tolist(),
            transitions.kind.tolist(),
            transitions.tier.tolist(),
            transitions.time.tolist(),
            transitions.since.tolist(),
            transitions.value.tolist(),
            strict=True,
        ):
            if kind == TransitionKind.OPEN:
                self.opened_at[row] = at
                self.first_tier[row] = tier
                current[row] = [(at, Severity(tier))]
                episodes.append(
                    self._episode(row, current[row], value, continues=since <= first_time)
                )
            elif kind == TransitionKind.ESCALATE:
                steps = current.setdefault(row, self._opened(row))
                steps.append((at, Severity(tier)))
                episodes.append(self._episode(row, steps, value, continues=False))
            else:
                steps = current.pop(row, self._opened(row))
                episodes.append(self._episode(row, steps, value, continues=False, resolved_at=at))
                self.opened_at[row] = np.nan
        return episodes

    def _opened(self, row: int) -> Steps:
        """The first step of the episode open at ``row`` before this evaluation."""
        return [(float(self.opened_at[row]), Severity(int(self.first_tier[row])))]

    def _episode(
        self,
        row: int,
        steps: Steps,
        value: float,
        *,
        continues: bool,
        resolved_at: float | None = None,
    ) -> AlertEpisode:
        rule = self.rules[row]
        details: dict[str, object] = {
            "quantity": rule.quantity,
            "units": rule.units,
            "source": rule.source,
            "verify": rule.verify,
            "message_vi": rule.message_vi,
            "message_en": rule.message_en,
        }
        if rule.family is AlertFamily.RISK:  # which stress factors drove the score
            details["factors"] = self.risk_factors.get(int(self.row_station[row]), [])
        return AlertEpisode(
            station_id=rule.station_id,
            rule_id=rule.rule_id,
            family=rule.family,
            opened_at=steps[0][0],
            severity=max(t for _, t in steps),
            escalations=tuple(steps),
            resolved_at=resolved_at,
            continues=continues,
            value=None if np.isnan(value) else value,
            details=details,
        )

    def _clear(self) -> dict[RuleAt, float]:
        """Rows evaluated with no alert open: their last valid time."""
        quiet = (self.state.tier == 0) & ~np.isnan(self.state.last_time)
        last = self.state.last_time
        clear = {
            (self.rules[r].station_id, self.rules[r].rule_id): float(last[r])
            for r in np.flatnonzero(quiet)
        }
        for row, link in self.linked_rows:
            if quiet[row]:
                clear[(link.downstream, _notice_rule(link, self.rules[row]))] = float(last[row])
        return clear

    def _pollution_notices(self, episodes: Sequence[AlertEpisode]) -> list[AlertEpisode]:
        """Mirror upstream pollution episodes at the linked downstream stations."""
        notices: list[AlertEpisode] = []
        for episode in episodes:
            if episode.family is not AlertFamily.POLLUTION:
                continue
            for link in self.links.get(episode.station_id, ()):
                if episode.severity >= link.min_tier:
                    notices.append(_notice(link, episode, str(episode.details["quantity"])))
        return notices

    def _series(
        self, usable: FloatArray, times: FloatArray, *, last: int, rows: IntArray
    ) -> FloatArray:
        """The series of ``rows`` (sorted rule rows) over the newest ``last`` columns.

        Quantities are computed for the stations of ``rows`` only.
        """
        out = np.full((len(rows), last), np.nan)
        at = np.full(len(self.rules), -1, dtype=np.int64)
        at[rows] = np.arange(len(rows))
        stations = np.unique(self.row_station[rows])
        position = np.full(len(self.window.stations), -1, dtype=np.int64)
        position[stations] = np.arange(len(stations))
        source = _WindowSource(self, usable, times, last, stations)
        for key, key_rows in self.by_series.items():
            wanted = key_rows[at[key_rows] >= 0]
            if not len(wanted):
                continue
            per_station = self._quantity(key, source)
            out[at[wanted]] = per_station[position[self.row_station[wanted]]]
        return out

    def _quantity(self, key: SeriesKey, source: _WindowSource) -> FloatArray:
        """One series for every station of the window, (stations, last)."""
        if key.average_s is not None:
            return _trailing_mean(
                self.window, key, source.usable, last=source.last, stations=source.stations
            )
        derived = DERIVED_QUANTITIES.get(key.quantity)
        if derived is None or derived.compute is None:
            return source.recent(key.quantity)
        return derived.compute(source)

    def risk_series(
        self,
        usable: FloatArray,
        times: FloatArray,
        *,
        last: int,
        stations: IntArray | None = None,
    ) -> FloatArray:
        """The disease-risk score at the newest column (its series is sampled once a tick).

        Rows are ``stations`` (window station indexes; all of them if None), in that order.
        """
        w = self.window
        if stations is None:
            stations = np.arange(len(w.stations))
        out = np.full((len(stations), last), np.nan)
        scored = np.flatnonzero(np.isin(stations, self.risk_stations))
        if not len(scored):
            return out
        rows = stations[scored]

        def raw(name: str) -> FloatArray:
            return w.series(name, usable, stations=rows)

        day = slice(len(times) - int(86_400 // w.step), None)
        ammonia = nh3(raw)
        params = _risk_params(self.risk_params, np.searchsorted(self.risk_stations, rows))
        inputs = RiskInputs.from_window(
            do=raw("do")[:, day],
            nh3=ammonia[:, day],
            ph=raw("ph")[:, day],
            sal_change=salinity_change(raw("sal"), times),
            temp=raw("temp")[:, day],
            params=params,
            interval_s=w.step,
        )
        result = disease_risk(inputs, params=params)
        out[scored, -1] = result.score
        drivers = result.drivers()
        self.risk_factors |= {
            int(station): [
                {
                    "factor": f.key,
                    "vi": f.label_vi,
                    "en": f.label_en,
                    "points": round(float(result.contributions[i, f]), 1),
                }
                for f in RiskFactor
                if drivers[i, f]
            ]
            for i, station in enumerate(rows.tolist())
        }
        return out


@dataclass(frozen=True, slots=True)
class _WindowSource:
    """A window's usable series as derived quantities read them (``QuantitySource``)."""

    detector: RuleDetector
    usable: FloatArray
    times: FloatArray
    last: int
    stations: IntArray  # the window's stations whose rows are built, in this order

    def recent(self, code: str) -> FloatArray:
        return self.detector.window.series(
            code, self.usable[:, -self.last :], stations=self.stations
        )

    def history(self, code: str) -> FloatArray:
        return self.detector.window.series(code, self.usable, stations=self.stations)

    def risk_score(self) -> FloatArray:
        return self.detector.risk_series(
            self.usable, self.times, last=self.last, stations=self.stations
        )


def _trailing_mean(
    window: Window, key: SeriesKey, usable: FloatArray, *, last: int, stations: IntArray
) -> FloatArray:
    """The trailing mean of a measured parameter, NaN where its own sample is missing."""
    span = key.average_s or 0.0
    needed = min(window.length, last + round(span / window.step))
    values = window.series(key.quantity, usable[:, -needed:], stations=stations)
    means = rolling.trailing_means(values, max(1, round(span / window.step)), last)
    means[np.isnan(values[:, -last:])] = np.nan
    return means


def _params(params: ThresholdParams, rows: IntArray) -> ThresholdParams:
    """The parameters of ``rows``."""
    return ThresholdParams(
        direction=params.direction[rows],
        tiers=params.tiers[rows],
        min_duration_s=params.min_duration_s[rows],
        clear_band=params.clear_band[rows],
        clear_duration_s=params.clear_duration_s[rows],
        max_gap_s=params.max_gap_s[rows],
    )


def _risk_params(params: RiskParams, rows: IntArray) -> RiskParams:
    """The risk settings of ``rows`` (indexes into ``params``)."""
    return RiskParams(**{f.name: getattr(params, f.name)[rows] for f in fields(RiskParams)})


def _moved(found: Transitions, rows: IntArray) -> Transitions:
    """Transitions of an evaluation of ``rows``, with the detector's row numbers."""
    return Transitions(
        row=rows[found.row],
        kind=found.kind,
        tier=found.tier,
        time=found.time,
        since=found.since,
        value=found.value,
    )


def _notice_rule(link: DownstreamLink, upstream: CompiledRule | str) -> str:
    quantity = upstream if isinstance(upstream, str) else upstream.quantity
    return f"{link.rule_id}.{quantity}"


def _notice(link: DownstreamLink, upstream: AlertEpisode, quantity: str) -> AlertEpisode:
    return AlertEpisode(
        station_id=link.downstream,
        rule_id=_notice_rule(link, quantity),
        family=AlertFamily.POLLUTION,
        opened_at=upstream.opened_at,
        severity=upstream.severity,
        escalations=upstream.escalations,
        resolved_at=upstream.resolved_at,
        continues=upstream.continues,
        value=upstream.value,
        details={
            "upstream": link.upstream,
            "upstream_rule": upstream.rule_id,
            "message_vi": link.message_vi,
            "message_en": link.message_en,
            "source": link.source,
        },
    )
