"""Threshold, trend, pollution and disease-risk rules of one window, evaluated tick by tick.

Each (station, rule) is a row. Every tick the rows' series (a parameter, or a quantity
derived from several: DO saturation, un-ionized ammonia, 24-h swings and drops, trailing
means, the risk score; see ``alerts.quantities``) are built for the newest columns only, and
the threshold evaluator carries each row's state from tick to tick. Stations that received
late data are evaluated again over the whole window from a fresh state, and the episodes
that yields are reconciled like any other (the alerts table knows those it already holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
        self.evaluated_end = np.nan
        self.risk_factors: dict[int, list[dict[str, object]]] = {}

    def __call__(self, view: View) -> Findings:
        """Evaluate the newest columns, and the whole window for stations with late data.

        ``view.full`` also reports every quiet rule as clear (the first tick after a start).
        """
        window, usable = view.window, view.usable
        times = window.times
        if np.isnan(self.evaluated_end):
            columns = window.length  # first tick: the whole window
        else:
            new = round((window.end - self.evaluated_end) / window.step)
            columns = min(window.length, max(new, 0) + RECENT_COLUMNS)
        self.evaluated_end = window.end
        episodes: list[AlertEpisode] = []
        if len(self.rules):
            values = self._series(usable, times, last=columns)
            result = evaluate(times[-columns:], values, params=self.params, state=self.state)
            self.state = result.state
            episodes += self._episodes(result.transitions, times[-columns:])
            redo = np.flatnonzero(np.isin(self.row_station, view.late_stations))
            if len(redo) and columns < window.length:
                episodes += self._redo(usable, times, redo)
        episodes += self._pollution_notices(episodes)
        # After a start, rows found quiet resolve alerts opened before it; later, alerts this
        # process opened resolve through their transitions.
        return Findings(tuple(episodes), self._clear() if view.full else {})

    def _redo(self, usable: FloatArray, times: FloatArray, rows: IntArray) -> list[AlertEpisode]:
        """Evaluate rows again over the whole window from scratch (late or backfilled data)."""
        params = ThresholdParams(
            direction=self.params.direction[rows],
            tiers=self.params.tiers[rows],
            min_duration_s=self.params.min_duration_s[rows],
            clear_band=self.params.clear_band[rows],
            clear_duration_s=self.params.clear_duration_s[rows],
            max_gap_s=self.params.max_gap_s[rows],
        )
        values = self._series(usable, times, last=len(times))[rows]
        result = evaluate(times, values, params=params, state=ThresholdState.initial(len(rows)))
        tier = result.state.tier
        self.state.tier[rows] = tier
        self.state.since[rows] = result.state.since
        self.state.clear_since[rows] = result.state.clear_since
        self.state.last_time[rows] = result.state.last_time
        self.opened_at[rows] = np.nan
        found = result.transitions
        transitions = Transitions(
            row=rows[found.row],
            kind=found.kind,
            tier=found.tier,
            time=found.time,
            since=found.since,
            value=found.value,
        )
        return self._episodes(transitions, times)

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

    def _series(self, usable: FloatArray, times: FloatArray, *, last: int) -> FloatArray:
        """Every row's series over the newest ``last`` columns."""
        out = np.full((len(self.rules), last), np.nan)
        source = _WindowSource(self, usable, times, last)
        for key, rows in self.by_series.items():
            per_station = self._quantity(key, source)
            out[rows] = per_station[self.row_station[rows]]
        return out

    def _quantity(self, key: SeriesKey, source: _WindowSource) -> FloatArray:
        """One series for every station of the window, (stations, last)."""
        if key.average_s is not None:
            return _trailing_mean(self.window, key, source.usable, last=source.last)
        derived = DERIVED_QUANTITIES.get(key.quantity)
        if derived is None or derived.compute is None:
            return source.recent(key.quantity)
        return derived.compute(source)

    def risk_series(self, usable: FloatArray, times: FloatArray, *, last: int) -> FloatArray:
        """The disease-risk score at the newest column (its series is sampled once a tick)."""
        w = self.window
        out = np.full((len(w.stations), last), np.nan)
        if not len(self.risk_stations):
            return out

        def raw(name: str) -> FloatArray:
            return w.series(name, usable)

        day = slice(len(times) - int(86_400 // w.step), None)
        rows = self.risk_stations
        ammonia = nh3(raw)
        inputs = RiskInputs.from_window(
            do=raw("do")[rows, day],
            nh3=ammonia[rows, day],
            ph=raw("ph")[rows, day],
            sal_change=salinity_change(raw("sal")[rows], times),
            temp=raw("temp")[rows, day],
            params=self.risk_params,
            interval_s=w.step,
        )
        result = disease_risk(inputs, params=self.risk_params)
        out[rows, -1] = result.score
        drivers = result.drivers()
        self.risk_factors = {
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

    def recent(self, code: str) -> FloatArray:
        return self.detector.window.series(code, self.usable[:, -self.last :])

    def history(self, code: str) -> FloatArray:
        return self.detector.window.series(code, self.usable)

    def risk_score(self) -> FloatArray:
        return self.detector.risk_series(self.usable, self.times, last=self.last)


def _trailing_mean(window: Window, key: SeriesKey, usable: FloatArray, *, last: int) -> FloatArray:
    """The trailing mean of a measured parameter, NaN where its own sample is missing."""
    span = key.average_s or 0.0
    needed = min(window.length, last + round(span / window.step))
    values = window.series(key.quantity, usable[:, -needed:])
    means = rolling.trailing_means(values, max(1, round(span / window.step)), last)
    means[np.isnan(values[:, -last:])] = np.nan
    return means


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
