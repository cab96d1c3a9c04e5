"""The per-rule false-alarm report (``python -m bench.false_alarms``) on the real Grand Bay record.

Pins the figures the report prints, so a change to a rule, a detector or the backtest that
moves them shows here. Most of the record's hypoxia comes in the morning with the tide,
after sunrise, where no dusk projection reaches: the dawn forecast's advisories and
warnings cover the two nights that fell below 3 mg/L before dawn.
"""

from __future__ import annotations

import pytest

from alerts import load_profiles, load_quality_config
from alerts.backtest import in_memory, run_backtest
from bench.false_alarms import STATION, batch, read, report
from stations import parse_registry
from tests.alerts.real_data import data_file


@pytest.fixture(scope="module")
def table() -> dict[str, tuple[str, str, str, int]]:
    series = read(data_file("nerrs_grandbay_gndblwq2021.csv"))
    station = parse_registry(STATION, source="grand-bay").stations["GB-BANGS"]
    result = run_backtest(
        in_memory(batch(series)),
        stations=[station],
        profiles=load_profiles(),
        quality=load_quality_config(),
        start=float(series.times[0]) - 1,
        end=float(series.times[-1]),
    )
    return {
        rule: (recall, lead, false, count)
        for rule, recall, lead, false, count in report(result, series)
    }


def test_every_hypoxic_episode_is_caught_by_the_low_do_rule_without_false_alarms(
    table: dict[str, tuple[str, str, str, int]],
) -> None:
    recall, lead, false, count = table["shrimp.do.low"]
    assert (recall, false, count) == ("7/7", "0.00", 20)
    assert int(lead) > 0  # open before DO reaches 3 mg/L (its tiers are 4 and 3.5)


def test_the_dawn_forecasts_figures(table: dict[str, tuple[str, str, str, int]]) -> None:
    assert table["forecast.do.dawn"][0] == "5/7"
    assert table["forecast.do.dawn"][2] == "1.76"
    # The warnings (the SMS tier), relaxed by what each night teaches: under one false
    # warning per station-week (the plain rule: 14 warnings, 1.26), the same episodes caught.
    recall, _, false, count = table["forecast.do.dawn (warning)"]
    assert (recall, false, count) == ("5/7", "0.76", 10)


def test_measured_threshold_rules_raise_no_alert_without_their_condition(
    table: dict[str, tuple[str, str, str, int]],
) -> None:
    measured = ("shrimp.ph.low", "shrimp.sal.low", "shrimp.temp.high", "shrimp.temp.low")
    assert {rule: table[rule][2] for rule in measured} == dict.fromkeys(measured, "0.00")
