"""The rule detector on hand-made windows: series, tiers, trailing means, parameters."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.config.threshold_profiles import load_profiles
from alerts.detectors.findings import View
from alerts.detectors.rules import RuleDetector, threshold_params
from alerts.kernels.window import Window
from alerts.states import AlertFamily, Severity
from stations import load_registry

REGISTRY = load_registry()
STEP = 300.0
END = 1_795_000_200.0


def detect(station_id: str, code: str, values: list[float]) -> tuple[Window, View, RuleDetector]:
    """A one-station window whose parameter ``code`` ends with ``values``."""
    window = Window([REGISTRY.stations[station_id]], span_s=6 * 3600, end=END)
    window.values[window.station_rows(code)[0], -len(values) :] = values
    view = View(window=window, flags=window.flags, usable=window.values, now=END)
    return window, view, RuleDetector(window, load_profiles())


def test_parameters_from_compiled_rules() -> None:
    rules = load_profiles().rules_for(REGISTRY.stations["KG-SR-01"])
    p = threshold_params(rules)
    do = [r.rule_id for r in rules].index("shrimp.do.low")
    assert len(p) == len(rules)
    assert p.direction[do] == -1
    assert p.tiers[do].tolist() == [4.0, 3.5, 2.0]
    assert p.min_duration_s[do] == 1800
    assert p.max_gap_s[do] == 900  # 3 sampling intervals of 300 s
    ph_low = [r.rule_id for r in rules].index("shrimp.ph.low")
    assert np.isnan(p.tiers[ph_low, [0, 2]]).all()
    with pytest.raises(ValueError, match="direction"):
        p.__class__(**{**{f: getattr(p, f) for f in p.__slots__}, "direction": p.direction * 2})


def test_low_do_for_an_hour_opens_at_warning_once_held_30_minutes() -> None:
    # DO 3.0 for the last 12 samples: beyond advisory 4.0 and warning 3.5, not critical 2.0.
    window, view, rules = detect("KG-SR-01", "do", [3.0] * 12)
    found = rules(view)
    (episode,) = found.episodes
    assert (episode.rule_id, episode.family, episode.severity) == (
        "shrimp.do.low",
        AlertFamily.THRESHOLD,
        Severity.WARNING,
    )
    first = window.length - 12
    assert episode.opened_at == window.times[first + 6]  # 1800 s after the run began
    assert episode.escalations == ((window.times[first + 6], Severity.WARNING),)
    assert episode.resolved_at is None
    assert episode.value == 3.0
    assert episode.details["quantity"] == "do"
    # Only rules with data are known clear; the open one is not.
    assert ("KG-SR-01", "shrimp.do.low") not in found.clear


def test_a_quiet_series_is_known_clear_on_a_full_pass_only() -> None:
    window, view, rules = detect("KG-SR-01", "do", [6.0] * 12)
    assert rules(view).clear[("KG-SR-01", "shrimp.do.low")] == window.times[-1]
    later = View(window=window, flags=window.flags, usable=window.values, now=END, full=False)
    assert rules(later).clear == {}


def test_an_effluent_rule_judges_the_trailing_hourly_mean() -> None:
    # COD 150 mg/L for 3 hours: its 1-h mean is above the warning tier (135 at KG-EF-02).
    _, view, rules = detect("KG-EF-02", "cod", [150.0] * 36)
    cod = [e for e in rules(view).episodes if e.rule_id == "effluent.cod.high"]
    assert cod
    assert max(e.severity for e in cod) == Severity.WARNING
    assert all(e.family is AlertFamily.POLLUTION for e in cod)
