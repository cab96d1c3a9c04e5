"""Threshold profiles: every limit is data with units, a source and a verify flag.

The YAML files in ``alerts/config/profiles/`` (one per profile, plus ``stations.yaml`` with the
per-station choices, overrides and downstream links) are parsed into the models of
``alerts.config.profile_schema`` and checked here; every problem names the file and the field.
:meth:`Profiles.rules_for` compiles one station's rules (``alerts.config.compiled_rules``):
options chosen (species, regulation, column, Kq, Kf, class), per-choice values picked,
limits scaled (Cmax = C x Kq x Kf), station overrides applied. The folder's README.md
documents the format for the officers who edit it.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final

from alerts.config.compiled_rules import (
    CompiledRule,
    DownstreamLink,
    LimitEdit,
    ThresholdRow,
    change_rule,
    compile_rule,
    risk_config,
)
from alerts.config.profile_checks import check_profile
from alerts.config.profile_schema import (
    QUANTITIES,
    Chosen,
    Direction,
    ProfileFile,
    StationEntry,
    StationsFile,
    prefixed,
)
from alerts.errors import ProfileError
from alerts.kernels.risk import RiskConfig
from alerts.states import Severity
from stations import Station, StationKind
from telemetry import validate_yaml

__all__ = [
    "QUANTITIES",
    "CompiledRule",
    "Direction",
    "DownstreamLink",
    "ProfileError",
    "Profiles",
    "ThresholdRow",
    "load_profiles",
    "parse_profiles",
]


_FIELDS: Final = tuple(f.name for f in dataclasses.fields(CompiledRule))
assert _FIELDS[0] == "station_id"
# A rule compiled once, with its fields after station_id, which the clones share.
_Template = tuple[CompiledRule, tuple[Any, ...]]


def _after_station(rule: CompiledRule) -> tuple[Any, ...]:
    """The rule's fields after its station, in order."""
    return tuple(getattr(rule, name) for name in _FIELDS[1:])


class Profiles:
    """The threshold profiles and per-station settings, validated and read-only.

    Args:
        profiles: Parsed profile files by profile name.
        stations: The parsed ``stations.yaml``.
        source: Where they were read from (for messages).
        digest: SHA-256 of the files' contents.

    Raises:
        ProfileError: The station settings do not fit the profiles.
    """

    def __init__(
        self,
        profiles: Mapping[str, ProfileFile],
        stations: StationsFile,
        *,
        source: str,
        digest: str,
    ) -> None:
        self._profiles = dict(profiles)
        self._entries = stations.stations
        self._default = {kind: n for n, p in profiles.items() for kind in p.station_kinds}
        self.source = source
        self.digest = digest
        # Compiled rules by what decides them (kind, stations.yaml entry, interval): the
        # 10,000 clones of a few stations compile once each, not once per station.
        self._compiled: dict[tuple[object, ...], tuple[_Template, ...]] = {}
        # And those a station measuring these parameters can evaluate.
        self._measurable: dict[tuple[object, ...], tuple[_Template, ...]] = {}
        # Each station's measured rules before edits, by station object (shared with the
        # copies ``with_edits`` makes): a start compiles every station once, not per use.
        self._measured: dict[int, tuple[Station, tuple[CompiledRule, ...]]] = {}
        self.edits: Mapping[tuple[str, str], LimitEdit] = {}
        notice = stations.downstream_notice
        links = [(sid, link) for sid, e in self._entries.items() for link in e.downstream]
        self.links: tuple[DownstreamLink, ...] = tuple(
            DownstreamLink(
                sid,
                link.station,
                Severity[link.min_tier.upper()],
                f"{notice.rule_prefix}.{sid}",
                notice.message_vi,
                notice.message_en,
                notice.source,
                link.note,
            )
            for sid, link in links
            if notice is not None
        )
        problems = [
            f"{kind.value} (station kind): exactly one profile must list it in station_kinds,"
            f" not {sorted(n for n, p in profiles.items() if kind in p.station_kinds)}"
            for kind in StationKind
            if sum(kind in p.station_kinds for p in profiles.values()) != 1
        ]
        known = {r.id for p in profiles.values() for s in p.sets for r in s.rules}
        for sid, entry in self._entries.items():
            if entry.profiles is not None:
                problems += self._compile(sid, None, entry, 1.0)[1]
            else:  # the station's kind decides its profile: validate() checks the rest
                problems += [
                    f"stations.yaml: stations.{sid}.rules.{rid}: no such rule in any profile"
                    for rid in entry.rules
                    if rid not in known
                ]
        if problems:
            raise ProfileError(problems)

    def with_edits(self, edits: Mapping[tuple[str, str], LimitEdit]) -> Profiles:
        """These profiles with limits people changed, by (station, rule), in force."""
        edited = copy.copy(self)
        edited.edits = dict(edits)
        return edited

    @property
    def names(self) -> tuple[str, ...]:
        """The profile names, sorted."""
        return tuple(sorted(self._profiles))

    def _entry(self, station: Station) -> StationEntry | None:
        return self._entries.get(station.id) or self._entries.get(station.clone_of or "")

    def _selection(
        self, sid: str, kind: StationKind | None, entry: StationEntry | None, bad: list[str]
    ) -> list[tuple[ProfileFile, Chosen, str]]:
        selected = entry.profiles if entry is not None else None
        if selected is None:
            selected = {self._default[kind]: {}} if kind in self._default else {}
        found = []
        for name, raw in selected.items():
            at = f"stations.yaml: stations.{sid}.profiles.{name}"
            profile = self._profiles.get(name)
            if profile is None:
                bad.append(f"{at}: unknown profile; known: {', '.join(self.names)}")
                continue
            bad += [f"{at}.{k}: not an option of {name}" for k in raw if k not in profile.options]
            chosen: Chosen = {k: raw.get(k, o.default) for k, o in profile.options.items()}
            bad += [
                f"{at}.{k}: {chosen[k]!r} is not allowed; "
                + (f"one of {o.choices}" if o.choices else f"from {o.minimum} to {o.maximum}")
                for k, o in profile.options.items()
                if not o.accepts(chosen[k])
            ]
            found.append((profile, chosen, at))
        return found

    def _compile(
        self, sid: str, kind: StationKind | None, entry: StationEntry | None, interval_s: float
    ) -> tuple[list[CompiledRule], list[str]]:
        bad: list[str] = []

        def report(field: str, message: str) -> None:
            bad.append(f"{field}: {message}")

        selection = self._selection(sid, kind, entry, bad)
        rules: list[CompiledRule] = []
        for profile, chosen, at in [] if bad else selection:
            active = [s for s in profile.sets if all(chosen[k] == v for k, v in s.when.items())]
            for key in sorted({k for s in profile.sets for k in s.when}):
                if not any(s.enabled and key in s.when for s in active):
                    bad.append(f"{at}.{key}: {chosen[key]!r} has no enabled rule set")
            for rule_set in (s for s in active if s.enabled):
                outside = [
                    f"{at}.{k}: {chosen[k]!r} is not defined by {rule_set.id} (only {allowed})"
                    for k, allowed in rule_set.allows.items()
                    if chosen[k] not in allowed
                ]
                bad += outside
                if not outside:
                    rules += [
                        compile_rule(sid, profile, rule_set, rule, chosen, interval_s)
                        for rule in rule_set.rules
                        if rule.enabled
                    ]
        at = f"stations.yaml: stations.{sid}.rules"
        ids = [r.rule_id for r in rules]
        bad += [f"{at}: {i} comes from two rule sets" for i in sorted(set(ids)) if ids.count(i) > 1]
        changes = {} if entry is None else entry.rules
        bad += [f"{at}.{rid}: no such rule at this station" for rid in changes if rid not in ids]
        result = []
        for rule in rules:
            change = changes.get(rule.rule_id)
            if change is not None and not change.enabled:
                continue
            if change is not None:
                rule = change_rule(rule, change, prefixed(report, f"{at}.{rule.rule_id}"))
            if rule.top_tier:
                result.append(rule)
        return ([], bad) if bad else (result, bad)

    def rules_for(self, station: Station, *, measured_only: bool = True) -> list[CompiledRule]:
        """Compile the rules of one station.

        Args:
            station: The station (its kind picks the profile unless stations.yaml lists it).
            measured_only: Leave out rules whose quantity the station cannot produce.

        Raises:
            ProfileError: The station's settings do not fit its profiles.
        """
        cached = self._measured.get(id(station)) if measured_only else None
        if cached is None or cached[0] is not station:
            rules = self._station_rules(station, measured_only=measured_only)
            if measured_only:
                self._measured[id(station)] = (station, rules)
        else:
            rules = cached[1]
        if not self.edits:
            return list(rules)
        return [
            edit.apply(r) if (edit := self.edits.get((station.id, r.rule_id))) else r for r in rules
        ]

    def _station_rules(self, station: Station, *, measured_only: bool) -> tuple[CompiledRule, ...]:
        interval = float(station.sampling_interval_s)
        entry = self._entry(station)
        key = (station.kind, id(entry), interval)
        compiled = self._compiled.get(key)
        if compiled is None:
            found, bad = self._compile(station.id, station.kind, entry, interval)
            if bad:
                raise ProfileError(bad)
            compiled = self._compiled[key] = tuple((r, _after_station(r)) for r in found)
        if measured_only:
            chosen = (key, station.parameters)
            if chosen not in self._measurable:
                have = set(station.parameters)
                self._measurable[chosen] = tuple(
                    (r, rest)
                    for r, rest in compiled
                    if all(have & set(g) for g in QUANTITIES[r.quantity].needs)
                )
            compiled = self._measurable[chosen]
        # A clone's rules are built field by field: dataclasses.replace took twice as long
        # (1.3 s of a start at 10,000 stations).
        return tuple(
            r if r.station_id == station.id else CompiledRule(station.id, *rest)
            for r, rest in compiled
        )

    def compile(self, stations: Iterable[Station]) -> dict[str, tuple[CompiledRule, ...]]:
        """Compile the rules of many stations once (the engine's start-up)."""
        return {s.id: tuple(self.rules_for(s)) for s in stations}

    def risk_for(self, station: Station) -> RiskConfig | None:
        """The station's disease-risk settings, or None if none of its profiles has them."""
        bad: list[str] = []
        selection = self._selection(station.id, station.kind, self._entry(station), bad)
        if bad:
            raise ProfileError(bad)
        specs = [(p.risk, chosen) for p, chosen, _ in selection if p.risk is not None]
        return risk_config(*specs[0]) if specs else None

    def downstream_of(self, station_id: str) -> tuple[DownstreamLink, ...]:
        """The links from one effluent station to the aquaculture stations downstream."""
        return tuple(link for link in self.links if link.upstream == station_id)

    def validate(self, stations: Iterable[Station]) -> None:
        """Check stations.yaml against the whole registry and compile every station.

        Raises:
            ProfileError: Unknown stations, links between the wrong kinds, or a station
                whose rules do not compile.
        """
        by_id = {s.id: s for s in stations}
        at = "stations.yaml: stations"
        bad = [
            f"{at}.{sid}: not in the station registry" for sid in self._entries if sid not in by_id
        ]
        for link in self.links:
            up, down = by_id.get(link.upstream), by_id.get(link.downstream)
            if up is not None and up.kind is not StationKind.EFFLUENT:
                bad.append(f"{at}.{link.upstream}.downstream: only effluent stations link")
            if down is None or down.kind is StationKind.EFFLUENT:
                bad.append(
                    f"{at}.{link.upstream}.downstream: {link.downstream!r} is not an "
                    "aquaculture station of the registry"
                )
        for station in by_id.values():
            bad += self._compile(station.id, station.kind, self._entry(station), 1.0)[1]
        if bad:
            raise ProfileError(bad)

    def as_rows(self, stations: Iterable[Station]) -> list[ThresholdRow]:
        """The rules in force, one row per (station, rule), for the threshold_profiles table."""
        return [
            self._row(r, digest)
            for s in stations
            for digest in [self.station_digest(s)]
            for r in self.rules_for(s)
        ]

    def station_digest(self, station: Station) -> str:
        """SHA-256 of what decides a station's rows: the files and the station's settings.

        Stored with the rows, so that a worker starting again finds which stations' rows
        are still those it would write.
        """
        text = f"{self.digest}\0{station.model_dump_json()}"
        return hashlib.sha256(text.encode()).hexdigest()

    def _row(self, rule: CompiledRule, digest: str) -> ThresholdRow:
        advisory, warning, critical = rule.tiers
        advisory_source, warning_source, critical_source = rule.tier_sources
        return ThresholdRow(
            station_id=rule.station_id,
            rule_id=rule.rule_id,
            profile=rule.profile,
            rule_set=rule.rule_set,
            family=rule.family.value,
            quantity=rule.quantity,
            series=str(rule.series),
            average_s=rule.average_s,
            direction=rule.direction.value,
            units=rule.units,
            advisory=advisory,
            warning=warning,
            critical=critical,
            advisory_source=advisory_source,
            warning_source=warning_source,
            critical_source=critical_source,
            min_duration_s=rule.min_duration_s,
            clear_band=rule.clear_band,
            clear_duration_s=rule.clear_duration_s,
            max_gap_s=rule.max_gap_s,
            message_vi=rule.message_vi,
            message_en=rule.message_en,
            source=rule.source,
            verify=rule.verify,
            options=json.dumps(dict(rule.options), ensure_ascii=False),
            basis=rule.basis,
            override_source=rule.override_source,
            digest=digest,
        )


def parse_profiles(texts: Mapping[str, str], *, source: str) -> Profiles:
    """Parse profile files given as {file name: YAML text}; ``stations.yaml`` is optional.

    Raises:
        ProfileError: Every problem found, each naming the file and the field.
    """
    problems: list[str] = []
    profiles: dict[str, ProfileFile] = {}
    stations = StationsFile()
    for name, text in sorted(texts.items()):
        model: type[StationsFile | ProfileFile] = (
            StationsFile if name == "stations.yaml" else ProfileFile
        )
        parsed, found = validate_yaml(text, model)
        if parsed is None:
            problems += [f"{name}: {problem}" for problem in found]
            continue
        if isinstance(parsed, StationsFile):
            stations = parsed
        else:
            problems += check_profile(name, parsed)
            profiles[parsed.profile] = parsed
    if problems:
        raise ProfileError(problems)
    digest = hashlib.sha256()
    for name, text in sorted(texts.items()):
        digest.update(f"{name}\0{text}\0".encode())
    return Profiles(profiles, stations, source=source, digest=digest.hexdigest())


def load_profiles(folder: Path | None = None) -> Profiles:
    """Load every ``*.yaml`` of ``folder``, or the built-in ``alerts/config/profiles``.

    Raises:
        ProfileError: The folder cannot be read or a file is invalid.
    """
    root: Traversable = (
        resources.files("alerts.config").joinpath("profiles") if folder is None else folder
    )
    label = "alerts/config/profiles" if folder is None else str(folder)
    try:
        texts = {e.name: e.read_text("utf-8") for e in root.iterdir() if e.name.endswith(".yaml")}
    except OSError as exc:
        raise ProfileError([f"{label}: cannot read the profiles: {exc.strerror}"]) from exc
    return parse_profiles(texts, source=label)
