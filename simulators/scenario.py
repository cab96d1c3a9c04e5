"""Scenario files: YAML scripts of events at given times, e.g. a DO crash tonight.

A scenario file::

    name: do_crash_tonight
    description: Algal die-off at KG-SR-02; DO falls below 3 mg/L before dawn.
    events:
      - at: tonight 18:30
        station: KG-SR-02
        event: do_crash
        duration: 11h
        rate: 0.6

``at`` takes one of these forms (clock times are the station's local time):

* ISO 8601 with an offset: ``2026-11-22T14:00:00+07:00``;
* relative to ``--start``: ``+90m``, ``+2h``, ``+1d6h``;
* ``14:00``: the first 14:00 at or after the start;
* ``today 14:00``, ``tomorrow 06:00``, ``day 3 14:00`` (day 1 is the start's date);
* ``tonight 22:00``: today's evening, or after midnight for hours before noon
  (``tonight 02:00`` is tomorrow 02:00).

Durations are ``90s``, ``30m``, ``2h``, ``1d``, combinations such as ``1h30m``, or a
number of seconds; ``offset`` of ``clock_skew`` may be negative (``-15m``). A positive
offset dates samples ahead of their time, and the ingester rejects readings too far ahead.

Event types and their fields (besides ``at``, ``station``, ``event`` and an optional
``note``): ``do_crash`` (duration 10h, rate 0.6 mg/L per hour), ``cod_pulse`` (duration 2h,
factor 4: every effluent concentration, not only COD), ``rain`` (duration 2h,
salinity_drop 5 ‰, turbidity_rise 60 NTU), ``spike`` (parameter, delta), ``stuck``
(parameter, duration, optional value: default the reading when it stuck), ``drift``
(parameter, duration, rate_per_day), ``dropout`` (duration, optional parameter),
``outage`` (duration), ``clock_skew`` (duration, offset), ``status`` (duration, code 1
calibrating or 2 device error, optional parameters: default all).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Final, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from simulators import faults, signals
from simulators.errors import ScenarioError
from stations import Registry
from telemetry import DeviceStatus, validate_yaml

_UNITS: Final = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION_RE: Final = re.compile(r"([+-]?)((?:\d+(?:\.\d+)?[dhms])+)")
_PART_RE: Final = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_CLOCK: Final = r"(?P<hh>[01]?\d|2[0-3]):(?P<mm>[0-5]\d)"
_AT_RE: Final = re.compile(
    rf"(?:(?P<word>today|tomorrow|tonight)\s+|day\s+(?P<day>[1-9]\d*)\s+)?{_CLOCK}"
)


def parse_duration(raw: object) -> float:
    """Return seconds for ``90s``, ``30m``, ``2h``, ``1d``, ``1h30m``, ``-15m`` or a number.

    Raises:
        ValueError: The text is not a duration.
    """
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    text = str(raw).strip().replace(" ", "")
    match = _DURATION_RE.fullmatch(text)
    if match is None:
        msg = f"a duration such as 90s, 30m, 2h, 1d or 1h30m, got {raw!r}"
        raise ValueError(msg)
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART_RE.findall(match[2]))
    return -seconds if match[1] == "-" else seconds


def _positive_duration(raw: object) -> float:
    seconds = parse_duration(raw)
    if seconds <= 0:
        msg = f"a positive duration, got {raw!r}"
        raise ValueError(msg)
    return seconds


def _check_at(raw: object) -> str:
    if isinstance(raw, datetime):  # YAML reads unquoted ISO timestamps as datetimes
        if raw.tzinfo is None:
            msg = f"an ISO time with its offset (e.g. +07:00), got {raw!r}"
            raise ValueError(msg)
        return raw.isoformat()
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < 24 * 60:
        return f"{raw // 60:02d}:{raw % 60:02d}"  # YAML 1.1 reads unquoted 14:00 as 840
    text = raw.strip() if isinstance(raw, str) else ""
    if text.startswith("+") and parse_duration(text[1:]) >= 0:
        return text
    if _AT_RE.fullmatch(text) or _is_iso_with_offset(text):
        return text
    msg = (
        "an ISO time with offset, +2h, 14:00, today/tomorrow/tonight 14:00 or "
        f"day 2 14:00, got {raw!r}"
    )
    raise ValueError(msg)


def _is_iso_with_offset(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


When = Annotated[str, BeforeValidator(_check_at)]
Duration = Annotated[float, BeforeValidator(_positive_duration)]
Offset = Annotated[float, BeforeValidator(parse_duration)]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: When
    station: str
    note: str | None = None


class DoCrashEvent(_Event):
    """An oxygen crash at an aquaculture station."""

    event: Literal["do_crash"]
    duration: Duration = 36_000.0
    rate: float = Field(default=0.6, gt=0, le=10, description="extra sink, mg/L per hour")


class CodPulseEvent(_Event):
    """An effluent discharge pulse."""

    event: Literal["cod_pulse"]
    duration: Duration = 7_200.0
    factor: float = Field(default=4.0, gt=1, le=50)


class RainEvent(_Event):
    """A rain storm: freshening and turbid runoff."""

    event: Literal["rain"]
    duration: Duration = 7_200.0
    salinity_drop: float = Field(default=5.0, ge=0, le=30)
    turbidity_rise: float = Field(default=60.0, ge=0, le=1_000)


class SpikeEvent(_Event):
    """One outlier."""

    event: Literal["spike"]
    parameter: str
    delta: float


class StuckEvent(_Event):
    """A sensor stuck on one value."""

    event: Literal["stuck"]
    parameter: str
    duration: Duration
    value: float | None = None


class DriftEvent(_Event):
    """A sensor drifting out of calibration."""

    event: Literal["drift"]
    parameter: str
    duration: Duration
    rate_per_day: float


class DropoutEvent(_Event):
    """Samples (or one parameter's values) that never arrive."""

    event: Literal["dropout"]
    duration: Duration
    parameter: str | None = None


class OutageEvent(_Event):
    """A link outage: samples buffered, then backfilled."""

    event: Literal["outage"]
    duration: Duration


class ClockSkewEvent(_Event):
    """A station clock running ``offset`` ahead (positive) or behind (negative)."""

    event: Literal["clock_skew"]
    duration: Duration
    offset: Offset = Field(ge=-86_400, le=86_400)


class StatusEvent(_Event):
    """Values reported as calibrating (1) or device error (2)."""

    event: Literal["status"]
    duration: Duration
    code: Literal[1, 2]
    parameters: tuple[str, ...] = ()


Event = Annotated[
    DoCrashEvent
    | CodPulseEvent
    | RainEvent
    | SpikeEvent
    | StuckEvent
    | DriftEvent
    | DropoutEvent
    | OutageEvent
    | ClockSkewEvent
    | StatusEvent,
    Field(discriminator="event"),
]
_EVENT_TYPES: Final = frozenset(
    get_args(model.model_fields["event"].annotation)[0] for model in get_args(get_args(Event)[0])
)


class ScenarioFile(BaseModel):
    """The contents of one scenario file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    description: str | None = None
    events: tuple[Event, ...] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario and where it came from."""

    source: str
    content: ScenarioFile


@dataclass(frozen=True, slots=True)
class Script:
    """What scenarios do to one station: signal episodes and faults, in absolute times."""

    episodes: tuple[signals.Episode, ...] = ()
    faults: tuple[faults.Fault, ...] = ()


def parse_scenario(text: str, *, source: str) -> Scenario:
    """Parse scenario YAML text.

    Raises:
        ScenarioError: Naming ``source``, each bad field and what was expected.
    """
    content, problems = validate_yaml(text, ScenarioFile, skip=_EVENT_TYPES)
    if content is None:
        raise ScenarioError(source, problems)
    return Scenario(source, content)


def load_scenario(name: str | Path) -> Scenario:
    """Load a scenario file, or a built-in one by name (``do_crash_tonight``).

    Raises:
        ScenarioError: The file is missing or invalid.
    """
    path = Path(name)
    if path.suffix == "" and path.name == str(name):
        builtin = resources.files("simulators").joinpath("scenarios", f"{name}.yaml")
        if builtin.is_file():
            return parse_scenario(builtin.read_text("utf-8"), source=f"scenarios/{name}.yaml")
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), [f"cannot read the file: {exc.strerror}"]) from exc
    return parse_scenario(text, source=str(path))


def resolve_time(text: str, *, start: float, zone: ZoneInfo) -> float:
    """Return the epoch seconds of an ``at`` value for a run starting at ``start``."""
    if text.startswith("+"):
        return start + parse_duration(text[1:])
    match = _AT_RE.fullmatch(text)
    if match is None:
        return datetime.fromisoformat(text).timestamp()
    local_start = datetime.fromtimestamp(start, zone)
    clock = time(int(match["hh"]), int(match["mm"]))
    day = local_start.date()
    if match["day"]:
        day += timedelta(days=int(match["day"]) - 1)
    elif match["word"] == "tomorrow" or (match["word"] == "tonight" and clock.hour < 12):
        day += timedelta(days=1)
    moment = datetime.combine(day, clock, zone).timestamp()
    if match["word"] is None and match["day"] is None and moment < start:
        moment = datetime.combine(day + timedelta(days=1), clock, zone).timestamp()
    return moment


def on_grid(moment: float, interval: float) -> float:
    """Return the first sampling time at or after ``moment`` (sampling is epoch-aligned)."""
    return math.ceil(moment / interval) * interval


def _translate(event: _Event, at: float, interval: float) -> signals.Episode | faults.Fault:
    end = at + getattr(event, "duration", 0.0)
    match event:
        case DoCrashEvent():
            return signals.DoCrash(at, event.duration, event.rate)
        case CodPulseEvent():
            return signals.EffluentPulse(at, event.duration, event.factor)
        case RainEvent():
            return signals.Rain(at, event.duration, event.salinity_drop, event.turbidity_rise)
        case SpikeEvent():
            return faults.Spike(event.parameter, on_grid(at, interval), event.delta)
        case StuckEvent():
            return faults.Stuck(event.parameter, at, end, event.value)
        case DriftEvent():
            return faults.Drift(event.parameter, at, end, event.rate_per_day)
        case DropoutEvent():
            return faults.Dropout(at, end, event.parameter)
        case OutageEvent():
            return faults.Outage(at, end)
        case ClockSkewEvent():
            return faults.ClockSkew(at, end, event.offset)
        case StatusEvent():
            return faults.Status(at, end, DeviceStatus(event.code), event.parameters)
    msg = f"unhandled event type {type(event).__name__}"
    raise TypeError(msg)


def _parameters(event: _Event) -> tuple[str, ...]:
    named = getattr(event, "parameter", None)
    return (named,) if named else tuple(getattr(event, "parameters", ()))


def compile_scenarios(
    scenarios: Iterable[Scenario], registry: Registry, *, start: float
) -> dict[str, Script]:
    """Turn scenarios into per-station scripts with absolute times.

    Raises:
        ScenarioError: An event names an unknown station or a parameter it does not measure.
    """
    collected: dict[str, tuple[list[signals.Episode], list[faults.Fault]]] = {}
    for scenario in scenarios:
        problems: list[str] = []
        for index, event in enumerate(scenario.content.events):
            station = registry.stations.get(event.station)
            if station is None:
                known = ", ".join(list(registry.stations)[:10])
                problems.append(
                    f"events[{index}].station: unknown station {event.station!r} "
                    f"(known: {known} ...)"
                )
                continue
            missing = [p for p in _parameters(event) if p not in station.parameters]
            if missing:
                field = "parameter" if getattr(event, "parameter", None) else "parameters"
                problems.append(
                    f"events[{index}].{field}: {station.id} does not measure {missing} "
                    f"(it measures {list(station.parameters)})"
                )
                continue
            at = resolve_time(event.at, start=start, zone=station.zone)
            item = _translate(event, at, station.sampling_interval_s)
            episodes, station_faults = collected.setdefault(station.id, ([], []))
            if isinstance(item, signals.Rain | signals.DoCrash | signals.EffluentPulse):
                episodes.append(item)
            else:
                station_faults.append(item)
        if problems:
            raise ScenarioError(scenario.source, problems)
    return {sid: Script(tuple(e), tuple(f)) for sid, (e, f) in collected.items()}
