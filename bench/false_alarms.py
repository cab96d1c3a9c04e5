"""False alarms and caught hypoxia, per rule, on the real Grand Bay record through the backtest.

Run ``python -m bench.false_alarms`` (``--data`` the NERRS CSV, default
``../shared/data/real/nerrs_grandbay_gndblwq2021.csv`` beside the repository; ``--every``
the backtest's tick). Replays the record (Bangs Lake, 15-minute readings, July-August 2021,
watched as a shrimp river) through ``alerts.backtest`` and prints, per rule:

* **recall**: of the DO < 3 mg/L episodes of 30 min or more in the provider's data, how many
  had an alert of the rule open from 12 h before the episode to its end;
* **lead**: median minutes from that alert's opening to the episode's start (negative:
  opened after the start);
* **false/wk**: alerts per station-week with no matching condition within 12 h after they
  opened, where the condition is the rule's own (its quantity beyond its least severe tier
  in the measured data) and, for the dawn forecast, DO < 3 mg/L; the forecast's alerts
  that reached the warning (the SMS tier) get a row of their own.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import numpy.typing as npt

from alerts import load_profiles, load_quality_config
from alerts.backtest import DEFAULT_TICK_S, BacktestAlert, BacktestResult, in_memory, run_backtest
from alerts.config.profile_schema import Direction
from alerts.kernels.window import Batch
from alerts.states import Severity
from stations import parse_registry
from telemetry import PARAMETERS

FloatArray = npt.NDArray[np.float64]
DATA = Path(__file__).resolve().parents[2] / "shared/data/real/nerrs_grandbay_gndblwq2021.csv"
CST = timezone(timedelta(hours=-6))
COLUMNS = {"Temp": ("temp", 1.0), "Sal": ("sal", 1.0), "SpCond": ("cond", 1000.0)}
COLUMNS |= {"DO_mgl": ("do", 1.0), "pH": ("ph", 1.0), "Turb": ("turb", 1.0)}
STATION = """
stations:
  - id: GB-BANGS
    kind: shrimp_river
    name_vi: Hồ Bangs, Grand Bay (dữ liệu thật, Mỹ)
    name_en: Bangs Lake, Grand Bay NERRS (real data, USA)
    district: Grand Bay
    latitude: 30.36
    longitude: -88.42
    parameters: [temp, sal, cond, do, ph, turb]
    sampling_interval_s: 900
    timezone: America/Chicago
"""
HYPOXIA = 3.0  # mg/L
MIN_EPISODE_S = 1800.0
MATCH_S = 12 * 3600.0
DO_RULES = ("forecast.do.dawn",)
WARNED = " (warning)"  # the rule's alerts that reached the SMS tier


@dataclass(frozen=True)
class Series:
    """The record: parameter code → (times, values), measured only."""

    times: FloatArray
    values: dict[str, FloatArray]
    step: float


def read(path: Path) -> Series:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    times = np.array(
        [
            datetime.strptime(r["DateTimeStamp"].strip(), "%m/%d/%Y %H:%M")
            .replace(tzinfo=CST)
            .timestamp()
            for r in rows
        ]
    )
    values = {
        code: np.array([float(r[name]) * factor if r[name].strip() else np.nan for r in rows])
        for name, (code, factor) in COLUMNS.items()
    }
    return Series(times, values, step=900.0)


def batch(series: Series) -> Batch:
    parts = [(code, v) for code, v in series.values.items()]
    present = [~np.isnan(v) for _, v in parts]
    return Batch(
        station_id=np.repeat(np.array(["GB-BANGS"]), sum(int(p.sum()) for p in present)),
        parameter_id=np.concatenate(
            [
                np.full(int(p.sum()), PARAMETERS[c].id)
                for (c, _), p in zip(parts, present, strict=True)
            ]
        ),
        epoch=np.concatenate([series.times[p] for p in present]),
        value=np.concatenate([v[p] for (_, v), p in zip(parts, present, strict=True)]),
        device_status=np.zeros(sum(int(p.sum()) for p in present), dtype=np.int64),
    )


def episodes(
    times: FloatArray, below: npt.NDArray[np.bool_], step: float
) -> list[tuple[float, float]]:
    """Runs of consecutive samples where ``below`` holds, lasting MIN_EPISODE_S or more."""
    edges = np.diff(np.concatenate([[0], below.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [
        (float(times[s]), float(times[e - 1]) + step)
        for s, e in zip(starts, ends, strict=True)
        if (e - s) * step >= MIN_EPISODE_S
    ]


def condition(
    rule_id: str, series: Series, profiles_rules: dict[str, tuple[str, Direction, float]]
) -> npt.NDArray[np.bool_] | None:
    """Where the rule's own condition holds in the measured data (None: not measurable)."""
    if rule_id in DO_RULES:
        return series.values["do"] < HYPOXIA
    found = profiles_rules.get(rule_id)
    if found is None or found[0] not in series.values:
        return None
    code, direction, limit = found
    values = series.values[code]
    return values > limit if direction is Direction.ABOVE else values < limit


def report(result: BacktestResult, series: Series) -> list[tuple[str, str, str, str, int]]:
    station = parse_registry(STATION, source="grand-bay").stations["GB-BANGS"]
    compiled = load_profiles().rules_for(station)
    limits = {
        r.rule_id: (r.quantity, r.direction, next(t for t in r.tiers if t is not None))
        for r in compiled
        if any(t is not None for t in r.tiers)
    }
    hypoxic = episodes(series.times, series.values["do"] < HYPOXIA, series.step)
    weeks = (np.ptp(series.times[~np.isnan(series.values["do"])]) + series.step) / (7 * 86_400)
    by_rule: dict[str, list[BacktestAlert]] = {}
    for alert in result.alerts:
        by_rule.setdefault(alert.rule_id, []).append(alert)
        if alert.rule_id in DO_RULES and alert.severity >= Severity.WARNING:
            by_rule.setdefault(alert.rule_id + WARNED, []).append(alert)
    rows = []
    for name, alerts in sorted(by_rule.items()):
        rule_id = name.removesuffix(WARNED)
        held = condition(rule_id, series, limits)
        false = "n/a"
        if held is not None:
            times = series.times[held]
            unmatched = sum(
                not ((times >= a.opened_at) & (times <= a.opened_at + MATCH_S)).any()
                for a in alerts
            )
            false = f"{unmatched / weeks:.2f}"
        recall, lead = "-", "-"
        if rule_id == "shrimp.do.low" or rule_id in DO_RULES:
            leads = []
            for start, end in hypoxic:
                opened = [
                    a.opened_at
                    for a in alerts
                    if a.opened_at <= end and (a.resolved_at or np.inf) >= start - MATCH_S
                ]
                if opened:
                    leads.append((start - min(opened)) / 60)
            recall = f"{len(leads)}/{len(hypoxic)}"
            lead = f"{np.median(leads):.0f}" if leads else "-"
        rows.append((name, recall, lead, false, len(alerts)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--every", type=float, default=DEFAULT_TICK_S)
    args = parser.parse_args()
    series = read(args.data)
    station = parse_registry(STATION, source="grand-bay").stations["GB-BANGS"]
    result = run_backtest(
        in_memory(batch(series)),
        stations=[station],
        profiles=load_profiles(),
        quality=load_quality_config(),
        start=float(series.times[0]) - 1,
        end=float(series.times[-1]),
        tick_s=args.every,
    )
    rows = report(result, series)
    print(f"{'rule':28} {'recall':>7} {'lead min':>9} {'false/wk':>9} {'alerts':>7}")
    for rule_id, recall, lead, false, count in rows:
        print(f"{rule_id:28} {recall:>7} {lead:>9} {false:>9} {count:>7}")


if __name__ == "__main__":
    main()
