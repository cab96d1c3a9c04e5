"""Compiled rules: one profile rule as it applies at one station, every number final.

:func:`compile_rule` turns a rule of a profile file into a :class:`CompiledRule` for one
station's choices: per-choice values picked, limits scaled (Cmax = C x Kq x Kf) and tiered,
a source attached to every tier. :func:`change_rule` applies a station's override. Rows for
the ``threshold_profiles`` table are :class:`ThresholdRow`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Final, cast

from alerts.config.profile_schema import (
    Bad,
    Chosen,
    Direction,
    ProfileFile,
    RiskSpec,
    RuleChange,
    RuleSet,
    RuleSpec,
    Tiers,
    Value,
    order_problem,
    pick,
)
from alerts.kernels.risk import RiskConfig
from alerts.quantities import SeriesKey
from alerts.states import TIER_NAMES, AlertFamily, Severity

Sources = tuple[str | None, str | None, str | None]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule as it applies at one station, ready for the engine.

    Attributes:
        station_id: The station.
        rule_id: Stable id (``shrimp.do.low``): one open alert per (station, rule).
        profile: Profile it comes from (``shrimp_river``).
        rule_set: Set within the profile (``qcvn40_2011``).
        family: threshold, trend, pollution or risk.
        quantity: Parameter code or derived code (``do``, ``nh3``, ``ph_swing`` ...).
        series: What the engine evaluates: ``quantity``, or its trailing mean.
        direction: Which side of the thresholds is bad.
        units: Units of the thresholds.
        tiers: Thresholds of advisory, warning, critical (None: no such tier).
        tier_sources: Source of each present tier.
        min_duration_s: How long a tier's condition must hold before it is due.
        clear_band: To clear, the value must be this far on the good side of the least
            severe threshold (hysteresis, in ``units``).
        clear_duration_s: How long it must stay clear before the alert resolves.
        max_gap_s: Longest silence that does not break a holding or clearing condition.
        message_vi: Short Vietnamese message (what is wrong, what to do).
        message_en: The same in English.
        source: The regulation or advice of the rule.
        verify: Some value is not confirmed against the official text.
        options: The station's choices, e.g. (("column", "B"), ("kq", 0.9)).
        basis: How computed thresholds were derived (C x Kq x Kf ...), if they were.
        override_source: Why this station's rule differs from the profile, if it does.
    """

    station_id: str
    rule_id: str
    profile: str
    rule_set: str
    family: AlertFamily
    quantity: str
    series: SeriesKey
    direction: Direction
    units: str
    tiers: Tiers
    tier_sources: Sources
    min_duration_s: float
    clear_band: float
    clear_duration_s: float
    max_gap_s: float
    message_vi: str
    message_en: str
    source: str
    verify: bool
    options: tuple[tuple[str, str | float], ...] = ()
    basis: str | None = None
    override_source: str | None = None

    @property
    def average_s(self) -> float | None:
        """Length of the trailing mean the rule judges, or None."""
        return self.series.average_s

    @property
    def top_tier(self) -> Severity | None:
        """The most severe tier the rule can reach (None if it has no tier)."""
        present = [Severity(i + 1) for i, v in enumerate(self.tiers) if v is not None]
        return max(present, default=None)


@dataclass(frozen=True, slots=True)
class LimitEdit:
    """Limits changed by people (through the API) for one rule at one station.

    Attributes:
        tiers: New advisory, warning and critical thresholds; None keeps the file's.
        source: Why, as the person gave it.
    """

    tiers: Tiers
    source: str

    def apply(self, rule: CompiledRule) -> CompiledRule:
        """The rule with these limits in force."""
        tiers = cast(
            Tiers,
            tuple(
                old if new is None else new for new, old in zip(self.tiers, rule.tiers, strict=True)
            ),
        )
        sources = cast(
            Sources,
            tuple(
                old if new is None else self.source
                for new, old in zip(self.tiers, rule.tier_sources, strict=True)
            ),
        )
        return replace(rule, tiers=tiers, tier_sources=sources, override_source=self.source)


@dataclass(frozen=True, slots=True)
class DownstreamLink:
    """An effluent station whose exceedances put an aquaculture station at risk.

    Attributes:
        upstream: The effluent station.
        downstream: The aquaculture station that gets the pollution-risk notice.
        min_tier: Open upstream pollution alerts at this tier or above raise the notice.
        rule_id: The notice's rule id at the downstream station
            (``pollution.upstream.KG-EF-01``).
        message_vi: The notice's Vietnamese message.
        message_en: The notice's English message.
        source: Where the link comes from.
        note: Why the stations are linked.
    """

    upstream: str
    downstream: str
    min_tier: Severity
    rule_id: str
    message_vi: str
    message_en: str
    source: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ThresholdRow:
    """One (station, rule) row of the ``threshold_profiles`` table: its fields are the columns."""

    station_id: str
    rule_id: str
    profile: str
    rule_set: str
    family: str
    quantity: str
    series: str
    average_s: float | None
    direction: str
    units: str
    advisory: float | None
    warning: float | None
    critical: float | None
    advisory_source: str | None
    warning_source: str | None
    critical_source: str | None
    min_duration_s: float
    clear_band: float
    clear_duration_s: float
    max_gap_s: float
    message_vi: str
    message_en: str
    source: str
    verify: bool
    options: str  # JSON object
    basis: str | None
    override_source: str | None
    digest: str


THRESHOLD_COLUMNS: Final = tuple(f.name for f in fields(ThresholdRow))
"""The columns of ``threshold_profiles`` that :class:`ThresholdRow` fills, in field order."""


def _three(values: list[Any]) -> tuple[Any, Any, Any]:
    a, b, c = values
    return a, b, c


def _limits(
    rule: RuleSpec, rule_set: RuleSet, chosen: Chosen, scale: float, named: str
) -> tuple[list[float | None], list[str | None], bool, str | None]:
    """Thresholds, their sources, whether any is unconfirmed, and how they were computed."""
    source = rule.source or rule_set.source
    lt = rule_set.limit_tiers
    if rule.limit is not None and lt is not None:
        c = pick(rule.limit, chosen)
        if c is None:
            return [None, None, None], [None, None, None], False, None
        scales = (lt.advisory, lt.warning, lt.critical)
        values = [None if m is None else c * scale * m for m in scales]
        sources = [
            None if v is None else source if m == 1 else lt.source
            for v, m in zip(values, scales, strict=True)
        ]
        multiples = "/".join("-" if m is None else f"{m:g}" for m in scales)
        cmax = f"C {c:g}{named} = Cmax {float(f'{c * scale:.10g}'):g} {rule.units}"
        return values, sources, False, f"{cmax}; tiers {multiples} x Cmax"
    specs = [rule.tiers.get(n) for n in TIER_NAMES]
    picked = [None if t is None else pick(t.value, chosen) for t in specs]
    values = [None if v is None else v * scale for v in picked]
    sources = [
        None if t is None or v is None else t.source or source
        for t, v in zip(specs, picked, strict=True)
    ]
    verify = any(t.verify for t, v in zip(specs, picked, strict=True) if t and v is not None)
    return values, sources, verify, f"C{named}" if named else None


def compile_rule(
    sid: str, profile: ProfileFile, rule_set: RuleSet, rule: RuleSpec, chosen: Chosen, gap: float
) -> CompiledRule:
    """One rule of ``profile`` for station ``sid`` with ``chosen`` options.

    Args:
        sid: The station.
        profile: The profile the rule belongs to.
        rule_set: The set the rule belongs to.
        rule: The rule as written.
        chosen: The station's options (every option of the profile).
        gap: The station's sampling interval, seconds (for ``max_gap_s``).
    """
    factors = [k for k in rule_set.scale_by if rule.scaled]
    scale = math.prod(float(chosen[k]) for k in factors)
    named = "".join(f" x {k} {chosen[k]:g}" for k in factors)
    values, sources, verify, basis = _limits(rule, rule_set, chosen, scale, named)
    # Rounded to 10 digits: 75 x 1.1 is 82.5, not 82.50000000000001.
    tiers = [None if v is None else float(f"{v:.10g}") for v in values]
    return CompiledRule(
        station_id=sid,
        rule_id=rule.id,
        profile=profile.profile,
        rule_set=rule_set.id,
        family=rule.family,
        quantity=rule.quantity,
        series=SeriesKey(rule.quantity, rule.average),
        direction=rule.direction,
        units=rule.units,
        tiers=_three(tiers),
        tier_sources=_three(sources),
        min_duration_s=rule.min_duration,
        clear_band=rule.clear_band,
        clear_duration_s=rule.clear_duration,
        max_gap_s=profile.max_gap_intervals * gap,
        message_vi=rule.message_vi,
        message_en=rule.message_en,
        source=rule.source or rule_set.source,
        verify=rule_set.verify or rule.verify or verify,
        options=tuple(chosen.items()),
        basis=basis,
    )


def change_rule(rule: CompiledRule, change: RuleChange, bad: Bad) -> CompiledRule:
    """Apply a station's change to a compiled rule; tiers out of order are reported to ``bad``."""
    tiers, sources = list(rule.tiers), list(rule.tier_sources)
    for name, value in change.tiers.items():
        index = TIER_NAMES.index(name)
        tiers[index], sources[index] = value, None if value is None else change.source
    if problem := order_problem(rule.direction, tiers):
        bad(f".tiers.{problem[0]}", problem[1])
    return replace(
        rule,
        tiers=_three(tiers),
        tier_sources=_three(sources),
        override_source=change.source,
        min_duration_s=(
            rule.min_duration_s if change.min_duration is None else change.min_duration
        ),
        clear_band=rule.clear_band if change.clear_band is None else change.clear_band,
        clear_duration_s=(
            rule.clear_duration_s if change.clear_duration is None else change.clear_duration
        ),
    )


def risk_config(spec: RiskSpec, chosen: Chosen) -> RiskConfig:
    """A profile's ``risk:`` block for the station's choices."""

    def number(value: Value) -> float:
        picked = pick(value, chosen)
        return math.nan if picked is None else picked

    w = spec.weights
    return RiskConfig(
        do_threshold=number(spec.do_threshold),
        nh3_limit=number(spec.nh3_limit),
        temp_low=spec.temp_optimum[0],
        temp_high=spec.temp_optimum[1],
        do_hours_full=spec.do_hours_full,
        ph_swing_limit=number(spec.ph_swing_limit),
        sal_swing_limit=number(spec.sal_swing_limit),
        temp_full_scale=spec.temp_full_scale,
        weights=(w["do_low"], w["nh3"], w["ph_swing"], w["sal_swing"], w["temp"]),
        source=spec.source,
        verify=spec.verify,
    )
