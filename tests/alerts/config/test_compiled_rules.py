"""One profile rule compiled for one station: picked, scaled, tiered, sourced, overridden."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.config.compiled_rules import CompiledRule, LimitEdit, change_rule, compile_rule
from alerts.config.profile_schema import ProfileFile, RuleChange
from alerts.quantities import SeriesKey
from alerts.states import Severity

RULE: dict[str, Any] = {
    "id": "effluent.cod.high",
    "quantity": "cod",
    "direction": "above",
    "units": "mg/L",
    "family": "pollution",
    "min_duration": "30m",
    "clear_band": 5,
    "clear_duration": "1h",
    "message_vi": "COD cao",
    "message_en": "COD high",
}


def profile(rule: dict[str, Any], **rule_set: Any) -> ProfileFile:
    return ProfileFile.model_validate(
        {
            "profile": "effluent",
            "title_vi": "Nước thải",
            "title_en": "Effluent",
            "options": {
                "column": {"choices": ["A", "B"], "default": "B"},
                "kq": {"default": 1.0, "minimum": 0.5, "maximum": 1.5},
            },
            "sets": [{"id": "qcvn", "source": "QCVN 40", "rules": [rule], **rule_set}],
        }
    )


def compiled(file: ProfileFile, chosen: dict[str, str | float]) -> CompiledRule:
    rule_set = file.sets[0]
    return compile_rule("KG-EF-01", file, rule_set, rule_set.rules[0], chosen, 300.0)


@pytest.mark.parametrize(
    ("chosen", "tiers", "basis"),
    [
        ({"column": "A", "kq": 1.0}, (75.0, 90.0, None), "C x kq 1"),
        ({"column": "B", "kq": 1.1}, (165.0, 198.0, None), "C x kq 1.1"),  # 150 x 1.1
        ({"column": "A", "kq": 0.9}, (67.5, 81.0, None), "C x kq 0.9"),
    ],
)
def test_per_choice_tiers_are_picked_and_scaled(
    chosen: dict[str, str | float], tiers: tuple[float | None, ...], basis: str
) -> None:
    file = profile(
        RULE | {"tiers": {"advisory": {"A": 75, "B": 150}, "warning": {"A": 90, "B": 180}}},
        scale_by=["kq"],
    )
    rule = compiled(file, chosen)
    assert (rule.tiers, rule.basis) == (tiers, basis)
    assert rule.tier_sources == ("QCVN 40", "QCVN 40", None)
    assert rule.top_tier is Severity.WARNING
    assert rule.max_gap_s == 900  # 3 intervals of 300 s


def test_a_legal_limit_is_tiered_by_multiples() -> None:
    file = profile(
        RULE | {"limit": {"A": 50, "B": 100}},
        limit_tiers={"advisory": 0.8, "warning": 1.0, "critical": 1.5, "source": "AquaWatch"},
    )
    rule = compiled(file, {"column": "B", "kq": 1.0})
    assert rule.tiers == (80.0, 100.0, 150.0)
    # The limit itself is the regulation's; the multiples are ours.
    assert rule.tier_sources == ("AquaWatch", "QCVN 40", "AquaWatch")
    assert rule.basis == "C 100 = Cmax 100 mg/L; tiers 0.8/1/1.5 x Cmax"
    assert rule.top_tier is Severity.CRITICAL


@pytest.mark.parametrize(
    ("average", "series", "stored"),
    [(None, SeriesKey("cod"), "cod"), ("1h", SeriesKey("cod", 3600.0), "cod_mean_1h")],
)
def test_the_series_is_the_quantity_or_its_trailing_mean(
    average: str | None, series: SeriesKey, stored: str
) -> None:
    file = profile(RULE | {"tiers": {"warning": 100}, "average": average})
    rule = compiled(file, {"column": "A", "kq": 1.0})
    assert (rule.series, str(rule.series), rule.average_s) == (series, stored, series.average_s)


def test_a_station_change_replaces_tiers_and_reports_them_out_of_order() -> None:
    rule = compiled(
        profile(RULE | {"tiers": {"advisory": 75, "warning": 90}}), {"column": "A", "kq": 1.0}
    )
    problems: list[str] = []
    change = RuleChange.model_validate(
        {"source": "pond next to a town", "tiers": {"advisory": 95}, "min_duration": "1h"}
    )
    changed = change_rule(rule, change, lambda at, message: problems.append(f"{at}: {message}"))
    assert changed.tiers == (95.0, 90.0, None)
    assert changed.tier_sources == ("pond next to a town", "QCVN 40", None)
    assert (changed.override_source, changed.min_duration_s) == ("pond next to a town", 3600)
    assert problems == [".tiers.warning: 90 must be above advisory 95 (direction above)"]


def test_limits_people_edit_replace_only_the_tiers_they_give() -> None:
    rule = compiled(
        profile(RULE | {"tiers": {"advisory": 75, "warning": 90}}), {"column": "A", "kq": 1.0}
    )
    edited = LimitEdit(tiers=(None, 120.0, 200.0), source="officer").apply(rule)
    assert edited.tiers == (75.0, 120.0, 200.0)
    assert edited.tier_sources == ("QCVN 40", "officer", "officer")
    assert edited.override_source == "officer"
    assert edited.top_tier is Severity.CRITICAL
