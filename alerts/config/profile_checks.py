"""Checks of a parsed profile file beyond its schema, each problem naming the field.

Options and per-choice values must agree (a value keyed by the choices of exactly one
option, one value for each allowed choice), quantities and units must be known, and tiers
must be in order for every combination of choices.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path

from alerts.config.profile_schema import (
    DERIVED,
    QUANTITIES,
    Bad,
    Chosen,
    Direction,
    ProfileFile,
    RuleSet,
    RuleSpec,
    Value,
    order_problem,
    pick,
    prefixed,
)
from alerts.states import TIER_NAMES


def _allowed(profile: ProfileFile, rule_set: RuleSet | None, option: str) -> list[str]:
    allows = {} if rule_set is None else rule_set.allows
    return allows.get(option) or profile.options[option].choices or []


def _keyed(profile: ProfileFile, rule_set: RuleSet | None, value: Value, bad: Bad, at: str) -> str:
    """The option a per-choice value is keyed by ('' for a plain number or a problem)."""
    if not isinstance(value, dict):
        return ""
    owners = {o for k in value for o, spec in profile.options.items() if k in (spec.choices or ())}
    if len(owners) != 1:
        bad(at, f"keys {sorted(value)} must be the choices of one option of this profile")
        return ""
    option = owners.pop()
    if set(value) != set(expected := _allowed(profile, rule_set, option)):
        bad(at, f"needs one value (or null) for each {option} in {expected}, got {sorted(value)}")
        return ""
    return option


def _check_rule(profile: ProfileFile, rule_set: RuleSet, rule: RuleSpec, bad: Bad) -> None:
    quantity = QUANTITIES.get(rule.quantity)
    if quantity is None:
        bad(".quantity", f"unknown {rule.quantity!r}; derived: {[q.code for q in DERIVED]}")
    elif rule.units != quantity.unit:
        bad(".units", f"{rule.units!r} differs from the unit of {quantity.code}: {quantity.unit!r}")
    if rule.limit is not None and (rule.tiers or rule_set.limit_tiers is None):
        bad(".limit", "needs limit_tiers in its set, and no tiers beside it")
    elif rule.limit is not None and rule.direction is Direction.BELOW:
        bad(".limit", "limit_tiers scale upper limits only; give tiers for a lower limit")
    elif rule.limit is None and not rule.tiers:
        bad(".tiers", "at least one of advisory, warning, critical")
    fields = {f".tiers.{n}": t.value for n, t in rule.tiers.items()} | {".limit": rule.limit}
    used = {o for at, v in fields.items() if (o := _keyed(profile, rule_set, v, bad, at))}
    options = sorted(used)
    for combo in product(*(_allowed(profile, rule_set, o) for o in options)):
        chosen: Chosen = dict(zip(options, combo, strict=True))
        tiers = [pick(rule.tiers[n].value, chosen) if n in rule.tiers else None for n in TIER_NAMES]
        if problem := order_problem(rule.direction, tiers):
            bad(
                f".tiers.{problem[0]}", problem[1] + (f" (for {', '.join(combo)})" if combo else "")
            )


def check_profile(file: str, profile: ProfileFile) -> list[str]:
    """What is wrong in a parsed profile beyond its structure, each naming the field."""
    problems: list[str] = []

    def bad(at: str, message: str) -> None:
        problems.append(f"{file}: {at}: {message}")

    if profile.profile != Path(file).stem:
        bad("profile", f"must be the file's name, {Path(file).stem!r}")
    choices = [c for o in profile.options.values() for c in o.choices or ()]
    if len(set(choices)) != len(choices):
        bad("options", "a choice may belong to one option only (values are keyed by choice)")
    for i, rule_set in enumerate(profile.sets):
        at = f"sets[{i}]"
        if [s.id for s in profile.sets].index(rule_set.id) != i:
            bad(f"{at}.id", f"{rule_set.id!r} is used twice")
        for key, picked in [
            *((k, [v]) for k, v in rule_set.when.items()),
            *rule_set.allows.items(),
        ]:
            option = profile.options.get(key)
            if option is None or option.choices is None or not set(picked) <= set(option.choices):
                bad(f"{at}.{key}", f"{picked} are not choices of an option {key!r}")
        for key in rule_set.scale_by:
            if key not in profile.options or profile.options[key].choices is not None:
                bad(f"{at}.scale_by", f"{key!r} is not a number option of this profile")
        if rule_set.limit_tiers is not None:
            lt = rule_set.limit_tiers
            if problem := order_problem(Direction.ABOVE, (lt.advisory, lt.warning, lt.critical)):
                bad(f"{at}.limit_tiers.{problem[0]}", problem[1])
        if rule_set.enabled and not rule_set.rules:
            bad(f"{at}.rules", "an enabled set needs at least one rule")
        for j, rule in enumerate(rule_set.rules):
            where = f"{at}.rules[{j}]"
            if [r.id for r in rule_set.rules].index(rule.id) != j:
                bad(f"{where}.id", f"{rule.id!r} is used twice in the set")
            _check_rule(profile, rule_set, rule, prefixed(bad, where))
    if profile.risk is not None:
        for name in ("do_threshold", "nh3_limit", "ph_swing_limit", "sal_swing_limit"):
            value = getattr(profile.risk, name)
            _keyed(profile, None, value, bad, f"risk.{name}")
            numbers = value.values() if isinstance(value, dict) else [value]
            if any(v is None or v <= 0 for v in numbers):
                bad(f"risk.{name}", "must be positive (for every choice)")
    return problems
