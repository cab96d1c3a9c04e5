"""Threshold, trend, pollution and disease-risk rules of one window, evaluated tick by tick.

Each (station, rule) is a row. Every tick the rows' series (a parameter, or a quantity
derived from several: DO saturation, un-ionized ammonia, 24-h swings and drops, trailing
means, the risk score) are built for the newest columns only, and the threshold evaluator
carries each row's state from tick to tick. Stations that received late data are evaluated
again over the whole window from a fresh state, and the episodes that yields are reconciled
like any other (the alerts table knows those it already holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from alerts.config.threshold_profiles import CompiledRule, DownstreamLink, Profiles
from alerts.kernels import chemistry, rolling
from alerts.kernels.hysteresis import (
    ThresholdParams,
    ThresholdState,
    TransitionKind,
    Transitions,
    evaluate,
)
from alerts.kernels.risk import RiskFactor, RiskInputs, RiskParams, disease_risk
from alerts.kernels.window import Window
from alerts.persistence.lifecycle import Episode

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Found = tuple[list[Episode], dict[tuple[str, str], float]]

NH3_PER_N: Final = 17.03 / 14.01  # mg NH3 per mg NH3-N
RECENT_COLUMNS: Final = 3  # recent columns fed again each tick, for readings a little late


class RuleDetector:
    """The rules of one window's stations.

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
        self.params = ThresholdParams.from_rules(self.rules)
        self.state = ThresholdState.initial(len(self.rules))
        self.opened_at = np.full(len(self.rules), np.nan)  # due time of each open episode
        self.first_tier = np.zeros(len(self.rules), dtype=np.int64)
        by_series: dict[str, list[int]] = {}
        for row, rule in enumerate(self.rules):
            by_series.setdefault(rule.series, []).append(row)
        self.by_series = {code: np.array(rows, dtype=np.int64) for code, rows in by_series.items()}
        self.average_s = {r.series: r.average_s for r in self.rules if r.average_s}
        self.links = {s.id: profiles.downstream_of(s.id) for s in window.stations}
        self.linked_rows = [
            (row, link)
            for row, rule in enumerate(self.rules)
            if rule.family.value == "pollution"
            for link in self.links[rule.station_id]
        ]
        risk_configs = [profiles.risk_for(s) for s in window.stations]
        self.risk_stations = np.array(
            [i for i, c in enumerate(risk_configs) if c is not None], dtype=np.int64
        )
        self.risk_params = RiskParams.from_configs([c for c in risk_configs if c is not None])
        self.evaluated_end = np.nan
        self.risk_factors: dict[int, list[dict[str, object]]] = {}

    def __call__(
        self, window: Window, usable: FloatArray, *, late_stations: IntArray, full: bool
    ) -> Found:
        """Evaluate the newest columns, and the whole window for stations with late data.

        ``full`` also reports every quiet rule as clear (the first tick after a start).
        """
        times = window.times
        if np.isnan(self.evaluated_end):
            columns = window.length  # first tick: the whole window
        else:
            new = round((window.end - self.evaluated_end) / window.step)
            columns = min(window.length, max(new, 0) + RECENT_COLUMNS)
        self.evaluated_end = window.end
        episodes: list[Episode] = []
        if len(self.rules):
            values = self._series(usable, times, last=columns)
            result = evaluate(times[-columns:], values, params=self.params, state=self.state)
            self.state = result.state
            episodes += self._episodes(result.transitions, times[-columns:])
            redo = np.flatnonzero(np.isin(self.row_station, late_stations))
            if len(redo) and columns < window.length:
                episodes += self._redo(usable, times, redo)
        episodes += self._pollution_notices(episodes)
        # After a start, rows found quiet resolve alerts opened before it; later, alerts this
        # process opened resolve through their transitions.
        return episodes, self._clear() if full else {}

    def _redo(self, usable: FloatArray, times: FloatArray, rows: IntArray) -> list[Episode]:
        """Evaluate rows again over the whole window from scratch (late or backfilled data)."""
        params = ThresholdParams(
            direction=self.params.direction[rows], tiers=self.params.tiers[rows],
            min_duration_s=self.params.min_duration_s[rows],
            clear_band=self.params.clear_band[rows],
            clear_duration_s=self.params.clear_duration_s[rows],
            max_gap_s=self.params.max_gap_s[rows],
        )  # fmt: skip
        values = self._series(usable, times, last=len(times))[rows]
        result = evaluate(times, values, params=params, state=ThresholdState.initial(len(rows)))
        tier = result.state.tier
        self.state.tier[rows] = tier
        self.state.since[rows] = result.state.since
        self.state.clear_since[rows] = result.state.clear_since
        self.state.last_time[rows] = result.state.last_time
        self.opened_at[rows] = np.nan
        transitions = Transitions(
            row=rows[result.transitions.row], kind=result.transitions.kind,
            tier=result.transitions.tier, time=result.transitions.time,
            since=result.transitions.since, value=result.transitions.value,
        )  # fmt: skip
        return self._episodes(transitions, times)

    def _episodes(self, transitions: Transitions, times: FloatArray) -> list[Episode]:
        """Turn transitions (sorted by row, then time) into episodes, carrying open ones."""
        episodes: list[Episode] = []
        current: dict[int, list[tuple[float, int]]] = {}
        first_time = float(times[0])
        for row, kind, tier, at, since, value in zip(
            transitions.row.tolist(), transitions.kind.tolist(), transitions.tier.tolist(),
            transitions.time.tolist(), transitions.since.tolist(), transitions.value.tolist(),
            strict=True,
        ):  # fmt: skip
            if kind == TransitionKind.OPEN:
                self.opened_at[row] = at
                self.first_tier[row] = tier
                current[row] = [(at, tier)]
                episodes.append(
                    self._episode(row, current[row], value, continues=since <= first_time)
                )
            elif kind == TransitionKind.ESCALATE:
                steps = current.setdefault(
                    row, [(float(self.opened_at[row]), int(self.first_tier[row]))]
                )
                steps.append((at, tier))
                episodes.append(self._episode(row, steps, value, continues=False))
            else:
                steps = current.pop(row, [(float(self.opened_at[row]), int(self.first_tier[row]))])
                episodes.append(self._episode(row, steps, value, continues=False, resolved_at=at))
                self.opened_at[row] = np.nan
        return episodes

    def _episode(
        self,
        row: int,
        steps: list[tuple[float, int]],
        value: float,
        *,
        continues: bool,
        resolved_at: float | None = None,
    ) -> Episode:
        rule = self.rules[row]
        details: dict[str, object] = {
            "quantity": rule.quantity, "units": rule.units, "source": rule.source,
            "verify": rule.verify, "message_vi": rule.message_vi, "message_en": rule.message_en,
        }  # fmt: skip
        if rule.family.value == "risk":  # which stress factors drove the score
            details["factors"] = self.risk_factors.get(int(self.row_station[row]), [])
        return Episode(
            station_id=rule.station_id, rule_id=rule.rule_id, family=rule.family.value,
            opened_at=steps[0][0], severity=max(t for _, t in steps),
            escalations=tuple(steps), resolved_at=resolved_at, continues=continues,
            value=None if np.isnan(value) else value,
            details=details,
        )  # fmt: skip

    def _clear(self) -> dict[tuple[str, str], float]:
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

    def _pollution_notices(self, episodes: Sequence[Episode]) -> list[Episode]:
        """Mirror upstream pollution episodes at the linked downstream stations."""
        notices: list[Episode] = []
        for episode in episodes:
            if episode.family != "pollution":
                continue
            for link in self.links.get(episode.station_id, ()):
                if episode.severity >= link.min_tier:
                    notices.append(_notice(link, episode, str(episode.details["quantity"])))
        return notices

    def _series(self, usable: FloatArray, times: FloatArray, *, last: int) -> FloatArray:
        """Every row's series over the newest ``last`` columns."""
        out = np.full((len(self.rules), last), np.nan)
        for code, rows in self.by_series.items():
            per_station = self._quantity(code, usable, times, last=last)
            out[rows] = per_station[self.row_station[rows]]
        return out

    def _quantity(
        self, code: str, usable: FloatArray, times: FloatArray, *, last: int
    ) -> FloatArray:
        """One quantity for every station of the window, (stations, last)."""
        w = self.window

        def raw(name: str) -> FloatArray:  # for trailing windows: the whole history
            return w.series(name, usable)

        def recent(name: str) -> FloatArray:  # point quantities: the newest columns only
            return w.series(name, usable[:, -last:])

        if code == "do_sat":
            return chemistry.do_percent_saturation(recent("do"), recent("temp"), recent("sal"))
        if code == "nh3":
            tan = np.where(np.isnan(recent("tan")), recent("nh4"), recent("tan"))
            return NH3_PER_N * chemistry.unionized_ammonia(tan, recent("ph"), recent("temp"))
        if code == "ph_swing":
            return rolling.daily_range(raw("ph"), times, last=last)
        if code == "temp_range":
            return rolling.daily_range(raw("temp"), times, last=last)
        if code == "sal_drop_24h":
            return rolling.fall_since(raw("sal"), times, last=last)
        if code == "temp_change_3h":
            return rolling.change_over(raw("temp"), times, last=last)
        if code == "risk_score":
            return self._risk(usable, times, last=last)
        if "_mean_" in code:
            span = self.average_s[code]
            needed = min(len(times), last + round(span / w.step))
            values = w.series(code.split("_mean_")[0], usable[:, -needed:])
            means = rolling.trailing_means(values, max(1, round(span / w.step)), last)
            means[np.isnan(values[:, -last:])] = np.nan
            return means
        return recent(code)

    def _risk(self, usable: FloatArray, times: FloatArray, *, last: int) -> FloatArray:
        """The disease-risk score at the newest column (its series is sampled once a tick)."""
        w = self.window
        out = np.full((len(w.stations), last), np.nan)
        if not len(self.risk_stations):
            return out

        def raw(name: str) -> FloatArray:
            return w.series(name, usable)

        day = slice(len(times) - int(86_400 // w.step), None)
        rows = self.risk_stations
        tan = np.where(np.isnan(raw("tan")), raw("nh4"), raw("tan"))
        nh3 = NH3_PER_N * chemistry.unionized_ammonia(tan, raw("ph"), raw("temp"))
        inputs = RiskInputs.from_window(
            do=raw("do")[rows, day], nh3=nh3[rows, day], ph=raw("ph")[rows, day],
            sal=raw("sal")[rows, day], temp=raw("temp")[rows, day],
            params=self.risk_params, interval_s=w.step,
        )  # fmt: skip
        result = disease_risk(inputs, params=self.risk_params)
        out[rows, -1] = result.score
        drivers = result.drivers()
        self.risk_factors = {
            int(station): [
                {"factor": f.key, "vi": f.label_vi, "en": f.label_en,
                 "points": round(float(result.contributions[i, f]), 1)}
                for f in RiskFactor if drivers[i, f]
            ]
            for i, station in enumerate(rows.tolist())
        }  # fmt: skip
        return out


def _notice_rule(link: DownstreamLink, upstream: CompiledRule | str) -> str:
    quantity = upstream if isinstance(upstream, str) else upstream.quantity
    return f"{link.rule_id}.{quantity}"


def _notice(link: DownstreamLink, upstream: Episode, quantity: str) -> Episode:
    return Episode(
        station_id=link.downstream, rule_id=_notice_rule(link, quantity), family="pollution",
        opened_at=upstream.opened_at, severity=upstream.severity,
        escalations=upstream.escalations, resolved_at=upstream.resolved_at,
        continues=upstream.continues, value=upstream.value,
        details={"upstream": link.upstream, "upstream_rule": upstream.rule_id,
                 "message_vi": link.message_vi, "message_en": link.message_en,
                 "source": link.source},
    )  # fmt: skip
