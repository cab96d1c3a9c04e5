"""The threshold-profile file format: vocabulary, pydantic models and small helpers.

Profiles (``alerts/config/profiles/*.yaml``) and ``stations.yaml`` are parsed into the
models here; ``threshold_profiles`` then checks what a schema cannot (units against the
catalogue, tiers in order for every choice, per-choice values covering the choices) and
compiles the rules per station (``compiled_rules``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, model_validator
from pydantic_core import PydanticCustomError

from alerts.kernels.risk import RiskFactor
from alerts.quantities import DERIVED_QUANTITIES
from alerts.states import PROFILE_FAMILIES, TIER_NAMES, AlertFamily, TierName
from stations import StationKind
from telemetry import PARAMETERS


class Direction(StrEnum):
    """Which side of the thresholds is bad."""

    BELOW = "below"
    ABOVE = "above"


@dataclass(frozen=True, slots=True)
class Quantity:
    """What a rule may judge; a station must measure one code of each group in ``needs``."""

    code: str
    unit: str
    needs: tuple[tuple[str, ...], ...]
    description: str


DERIVED: Final = tuple(
    Quantity(q.code, q.unit, q.needs, q.description)
    for q in DERIVED_QUANTITIES.values()
    if q.compute is not None
)
"""The derived quantities a rule may name (those the rule detector computes)."""
QUANTITIES: Final = MappingProxyType(
    {p.code: Quantity(p.code, p.unit, ((p.code,),), p.name_en) for p in PARAMETERS.values()}
    | {q.code: q for q in DERIVED}
)
"""Every quantity a rule may name: the parameter catalogue plus the derived codes."""

_DURATION: Final = re.compile(
    r"(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?"
    r"(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?"
)


def parse_duration(value: object) -> float:
    """Seconds of a duration written ``30m``, ``1h``, ``1h30m``, ``90s``, ``1d`` or ``0``."""
    if (value == 0 and not isinstance(value, bool)) or value == "0":
        return 0.0
    match = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        msg = "a duration such as '30m', '1h' or '1h30m'"
        raise ValueError(msg)
    d, h, m, s = (float(g or 0) for g in match.groups())
    return ((d * 24 + h) * 60 + m) * 60 + s


Value = float | dict[str, float | None] | None
_VALUE_HELP: Final = "a number, null, or one number per choice such as {A: 75, B: 150}"


def _number(raw: object) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueError(_VALUE_HELP)
    return float(raw)


def _value(raw: object) -> Value:
    return {str(k): _number(v) for k, v in raw.items()} if isinstance(raw, dict) else _number(raw)


@dataclass(frozen=True, slots=True)
class TierValue:
    """A tier as written: its value (maybe per choice), and its own source if it has one."""

    value: Value
    source: str | None = None
    verify: bool = False


def _family(raw: object) -> AlertFamily:
    """A profile rule's family: the engine's own (quality, offline) are not allowed."""
    if not isinstance(raw, str) or raw not in PROFILE_FAMILIES:
        names = [f"'{f}'" for f in PROFILE_FAMILIES]
        expected = f"{', '.join(names[:-1])} or {names[-1]}"
        raise PydanticCustomError("enum", "Input should be {expected}", {"expected": expected})
    return AlertFamily(raw)


def _tier(raw: object) -> TierValue:
    if not (isinstance(raw, dict) and "value" in raw):
        return TierValue(_value(raw))
    source, verify = raw.get("source"), raw.get("verify", False)
    if (
        set(raw) - {"value", "source", "verify"}
        or not isinstance(verify, bool)
        or not (source is None or (isinstance(source, str) and source))
    ):
        msg = "a number, per-choice numbers, or {value: ..., source: text, verify: true|false}"
        raise ValueError(msg)
    return TierValue(_value(raw["value"]), source, verify)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Duration = Annotated[float, BeforeValidator(parse_duration)]
ValueField = Annotated[Value, PlainValidator(_value)]
Text = Annotated[str, Field(min_length=1)]
Message = Annotated[str, Field(min_length=1, max_length=100)]  # short: SMS later
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class RuleSpec(_Model):
    """One rule as written in a profile (README.md explains each field)."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")]
    quantity: str
    direction: Direction
    units: str
    family: Annotated[AlertFamily, PlainValidator(_family)]
    tiers: dict[TierName, Annotated[TierValue, PlainValidator(_tier)]] = {}
    limit: ValueField = None
    average: Duration | None = None
    scaled: bool = True
    min_duration: Duration
    clear_band: float = Field(ge=0, allow_inf_nan=False)
    clear_duration: Duration
    message_vi: Message
    message_en: Message
    source: Text | None = None
    verify: bool = False
    enabled: bool = True
    note: str | None = None


class LimitTiers(_Model):
    """Tiers as multiples of a legal maximum (for rules that give ``limit``)."""

    advisory: float | None = Field(default=None, gt=0)
    warning: float | None = Field(default=None, gt=0)
    critical: float | None = Field(default=None, gt=0)
    source: Text


class RuleSet(_Model):
    """Rules from one regulation or advice, active when the station's options match."""

    id: Name
    source: Text
    verify: bool = False
    enabled: bool = True
    when: dict[str, str] = {}
    allows: dict[str, list[str]] = {}
    scale_by: list[str] = []
    limit_tiers: LimitTiers | None = None
    rules: list[RuleSpec] = []

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "defaults" not in data:
            return data
        data = dict(data)
        defaults = data.pop("defaults")
        if not isinstance(defaults, dict):
            msg = "defaults: a mapping of rule fields"
            raise ValueError(msg)
        rules = data.get("rules") or []
        data["rules"] = [{**defaults, **r} if isinstance(r, dict) else r for r in rules]
        return data


class Option(_Model):
    """A per-station choice: ``choices`` (species, column...) or a number (Kq, Kf)."""

    choices: list[Text] | None = None
    default: str | float
    minimum: float | None = None
    maximum: float | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Option:
        if self.choices is not None and self.default not in self.choices:
            msg = f"default {self.default!r} is not one of the choices {self.choices}"
            raise ValueError(msg)
        if self.choices is None and (
            isinstance(self.default, str) or not self.accepts(self.default)
        ):
            msg = "a number option needs a numeric default within minimum..maximum"
            raise ValueError(msg)
        return self

    def accepts(self, value: str | float) -> bool:
        """Whether a station may choose ``value``."""
        if self.choices is not None:
            return value in self.choices
        low = -math.inf if self.minimum is None else self.minimum
        high = math.inf if self.maximum is None else self.maximum
        return not isinstance(value, str) and low <= value <= high


class RiskSpec(_Model):
    """Inputs of the disease-risk score (alerts/kernels/risk.py)."""

    source: Text
    verify: bool = True
    do_threshold: ValueField
    nh3_limit: ValueField
    ph_swing_limit: ValueField = 0.5
    sal_swing_limit: ValueField = 5.0
    do_hours_full: float = Field(default=6.0, gt=0)
    temp_optimum: tuple[float, float]
    temp_full_scale: float = Field(default=3.0, gt=0)
    weights: dict[Literal["do_low", "nh3", "ph_swing", "sal_swing", "temp"], float]

    @model_validator(mode="after")
    def _consistent(self) -> RiskSpec:
        if len(self.weights) != len(RiskFactor) or min(self.weights.values()) < 0:
            msg = f"weights: a weight ≥ 0 for each of {[f.key for f in RiskFactor]}"
            raise ValueError(msg)
        if self.temp_optimum[0] >= self.temp_optimum[1]:
            msg = "temp_optimum: [low, high] with low < high"
            raise ValueError(msg)
        return self


class ProfileFile(_Model):
    """One profile file."""

    profile: Name
    title_vi: Text
    title_en: Text
    station_kinds: list[StationKind] = []
    max_gap_intervals: float = Field(default=3.0, gt=0)
    options: dict[Name, Option] = {}
    sets: list[RuleSet] = Field(min_length=1)
    risk: RiskSpec | None = None


class RuleChange(_Model):
    """A station's change to one rule; it must say why (``source``)."""

    source: Text
    enabled: bool = True
    tiers: dict[TierName, Annotated[float | None, PlainValidator(_number)]] = {}
    min_duration: Duration | None = None
    clear_band: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    clear_duration: Duration | None = None


class LinkSpec(_Model):
    """An aquaculture station downstream of an effluent station."""

    station: Text
    min_tier: TierName = "warning"
    note: str | None = None


class StationEntry(_Model):
    """One station's settings."""

    profiles: dict[str, dict[str, str | float]] | None = None
    rules: dict[str, RuleChange] = {}
    downstream: list[LinkSpec] = []


class Notice(_Model):
    """The pollution-risk notice raised downstream of an exceedance."""

    rule_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")]
    message_vi: Message
    message_en: Message
    source: Text


class StationsFile(_Model):
    """``stations.yaml``."""

    downstream_notice: Notice | None = None
    stations: dict[str, StationEntry] = {}

    @model_validator(mode="after")
    def _notice_if_linked(self) -> StationsFile:
        if self.downstream_notice is None and any(e.downstream for e in self.stations.values()):
            msg = "downstream_notice: required when a station has downstream links"
            raise ValueError(msg)
        return self


Chosen = dict[str, str | float]
Tiers = tuple[float | None, float | None, float | None]
Bad = Callable[[str, str], None]


def prefixed(bad: Bad, prefix: str) -> Bad:
    """A problem reporter that puts ``prefix`` before each field."""
    return lambda field, message: bad(f"{prefix}{field}", message)


def pick(value: Value, chosen: Chosen) -> float | None:
    """The number that applies for the station's choices."""
    if isinstance(value, dict):
        return next((value[c] for c in chosen.values() if isinstance(c, str) and c in value), None)
    return value


def order_problem(direction: Direction, tiers: Iterable[float | None]) -> tuple[str, str] | None:
    """(tier, complaint) if the present tiers are not strictly worse in ``direction``."""
    present = [(n, v) for n, v in zip(TIER_NAMES, tiers, strict=True) if v is not None]
    for (low, a), (high, b) in pairwise(present):
        if (b <= a) if direction is Direction.ABOVE else (b >= a):
            side = "above" if direction is Direction.ABOVE else "below"
            return high, f"{b:g} must be {side} {low} {a:g} (direction {direction})"
    return None
