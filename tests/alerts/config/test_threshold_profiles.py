"""Threshold profiles: the shipped data, compilation per station, overrides and errors."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
import yaml

from alerts.config.compiled_rules import THRESHOLD_COLUMNS, CompiledRule
from alerts.config.profile_schema import QUANTITIES, Direction, parse_duration
from alerts.config.threshold_profiles import Profiles, load_profiles, parse_profiles
from alerts.errors import ProfileError
from alerts.states import AlertFamily, Severity
from stations import Station, StationKind, load_registry

REGISTRY = load_registry()


def shipped() -> dict[str, str]:
    """The built-in files as {name: text}."""
    folder = resources.files("alerts.config").joinpath("profiles")
    return {e.name: e.read_text("utf-8") for e in folder.iterdir() if e.name.endswith(".yaml")}


def edited(name: str, old: str, new: str) -> dict[str, str]:
    """The built-in files with one text replacement in one file."""
    texts = shipped()
    assert old in texts[name], f"{old!r} not in {name}"
    texts[name] = texts[name].replace(old, new, 1)
    return texts


def with_stations(entries: str) -> Profiles:
    """The built-in profiles with another stations.yaml."""
    return parse_profiles(shipped() | {"stations.yaml": entries}, source="test")


def station(sid: str, kind: StationKind, *, parameters: tuple[str, ...] = ("do",)) -> Station:
    return Station(
        id=sid,
        kind=kind,
        name_vi="Trạm thử",
        name_en="Test station",
        district="An Biên",
        latitude=9.8,
        longitude=105.0,
        parameters=parameters,
        sampling_interval_s=300,
    )


def by_id(rules: list[CompiledRule]) -> dict[str, CompiledRule]:
    return {r.rule_id: r for r in rules}


EFFLUENT = ("flow", "temp", "ph", "do", "tss", "cod", "nh4", "tn", "tp", "bod5", "color", "cl2")


def test_the_shipped_profiles_fit_the_provinces_network() -> None:
    profiles = load_profiles()
    assert profiles.names == ("cage_sea", "effluent", "shrimp_river", "surface_water")
    profiles.validate(REGISTRY.stations.values())
    compiled = profiles.compile(REGISTRY.stations.values())
    for sid, rules in compiled.items():
        assert rules, sid
        for rule in rules:
            assert rule.source
            assert rule.units == QUANTITIES[rule.quantity].unit
            assert rule.message_vi
            assert rule.message_en
            assert len(rule.message_vi) <= 100
            assert rule.top_tier is not None
            present = [t for t in rule.tiers if t is not None]
            ordered = sorted(present, reverse=rule.direction is Direction.BELOW)
            assert present == ordered, rule
            assert len(set(present)) == len(present), rule
            for value, source in zip(rule.tiers, rule.tier_sources, strict=True):
                assert (value is None) == (source is None), rule
    # Load-test clones use their original's settings.
    clone = REGISTRY.with_clones(10).stations["KG-SR-03-C00009"]
    assert by_id(profiles.rules_for(clone))["shrimp.do.low"].tiers == (5.0, 4.0, 3.0)


@pytest.mark.parametrize(
    ("sid", "rule_id", "series", "tiers", "verify"),
    [
        ("KG-SR-01", "shrimp.do.low", "do", (4.0, 3.5, 2.0), True),  # white-leg
        ("KG-SR-03", "shrimp.do.low", "do", (5.0, 4.0, 3.0), True),  # black tiger
        ("KG-SR-01", "shrimp.ph.low", "ph", (None, 7.0, None), True),
        ("KG-SR-03", "shrimp.ph.low", "ph", (7.5, 7.0, None), True),
        ("KG-SR-03", "shrimp.ph.swing", "ph_swing", (None, 0.5, None), False),
        ("KG-SR-01", "shrimp.nh3.high", "nh3", (0.03, 0.1, 0.3), True),
        ("KG-SR-01", "shrimp.temp.high", "temp", (32.0, None, 35.0), False),
        ("KG-SR-02", "surface.do.low", "do", (5.0, None, None), False),  # class B
        ("KG-CS-01", "cage.do.low", "do", (5.0, 3.0, 2.0), True),
        ("KG-CS-01", "cage.nh3.high", "nh3", (0.03, 0.05, 1.0), False),
        ("KG-CS-01", "cage.temp.low", "temp", (None, 20.0, 15.0), False),
        # QCVN 40:2011 column B, Kq 0.9, Kf 1.0: Cmax 150 x 0.9 = 135; tiers 0.8/1/1.5.
        ("KG-EF-02", "effluent.cod.high", "cod_mean_1h", (108.0, 135.0, 202.5), False),
        ("KG-EF-02", "effluent.ph.low", "ph", (None, 5.5, None), False),  # never scaled
        ("KG-EF-02", "effluent.temp.high", "temp", (None, 40.0, None), False),
        # QCVN 11-MT:2015 column B, Kq 1.0, Kf 1.1: NH4 20 x 1.1 = 22 (verify: unconfirmed).
        ("KG-EF-01", "effluent.nh4.high", "nh4_mean_1h", (17.6, 22.0, 33.0), True),
    ],
)
def test_compiled_thresholds(
    sid: str,
    rule_id: str,
    series: str,
    tiers: tuple[float | None, ...],
    verify: bool,
) -> None:
    rule = by_id(load_profiles().rules_for(REGISTRY.stations[sid]))[rule_id]
    assert (str(rule.series), rule.tiers, rule.verify) == (series, tiers, verify)


def test_a_compiled_rule_carries_its_sources_and_basis() -> None:
    rules = by_id(load_profiles().rules_for(REGISTRY.stations["KG-EF-02"]))
    cod = rules["effluent.cod.high"]
    assert cod.family is AlertFamily.POLLUTION
    assert cod.average_s == 3600
    assert cod.source == "QCVN 40:2011/BTNMT"
    assert cod.tier_sources[1] == "QCVN 40:2011/BTNMT"  # the legal maximum itself
    assert "engineering choice" in (cod.tier_sources[0] or "")
    assert cod.basis == "C 150 x kq 0.9 x kf 1 = Cmax 135 mg/L; tiers 0.8/1/1.5 x Cmax"
    assert dict(cod.options) == {"regulation": "qcvn40_2011", "column": "B", "kq": 0.9, "kf": 1.0}
    do = by_id(load_profiles().rules_for(REGISTRY.stations["KG-SR-01"]))["shrimp.do.low"]
    assert "QCVN 02-19:2014" in str(do.tier_sources[1])
    assert (do.min_duration_s, do.clear_band, do.clear_duration_s) == (1800, 0.3, 1800)
    assert do.max_gap_s == 900


def test_rules_the_station_cannot_evaluate_are_left_out() -> None:
    profiles = load_profiles()
    sr = REGISTRY.stations["KG-SR-01"]  # no alk, no h2s sensor
    measured = {r.rule_id for r in profiles.rules_for(sr)}
    everything = {r.rule_id for r in profiles.rules_for(sr, measured_only=False)}
    assert everything - measured == {"shrimp.alk.low", "shrimp.alk.high", "shrimp.h2s.high"}
    # nh3 needs TAN or NH4 plus temperature and pH.
    bare = station("X-1", StationKind.SHRIMP_RIVER, parameters=("do", "tan", "temp"))
    assert "shrimp.nh3.high" not in by_id(profiles.rules_for(bare))


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("{column: A}", (60.0, 75.0, 112.5)),
        ("{column: B, kq: 1.2, kf: 0.9}", (129.6, 162.0, 243.0)),
        ("{regulation: qcvn11_2015, column: A, kq: 1.1, kf: 1.2}", (79.2, 99.0, 148.5)),
        ("{}", (120.0, 150.0, 225.0)),  # defaults: QCVN 40:2011 column B, Kq = Kf = 1
    ],
)
def test_effluent_columns_and_factors(options: str, expected: tuple[float, ...]) -> None:
    profiles = with_stations(f"stations:\n  X-EF:\n    profiles:\n      effluent: {options}\n")
    rules = by_id(profiles.rules_for(station("X-EF", StationKind.EFFLUENT, parameters=EFFLUENT)))
    assert rules["effluent.cod.high"].tiers == expected


@pytest.mark.parametrize(
    ("cls", "do", "cod"),
    [("A", 6.0, 10.0), ("B", 5.0, 15.0), ("C", 4.0, 20.0), ("D", None, None)],
)
def test_surface_water_classes(cls: str, do: float | None, cod: float | None) -> None:
    profiles = with_stations(
        f"stations:\n  X-1:\n    profiles:\n      surface_water: {{class: {cls}}}\n"
    )
    rules = by_id(profiles.rules_for(station("X-1", StationKind.SHRIMP_RIVER, parameters=EFFLUENT)))
    assert (rules["surface.do.low"].tiers[0] if "surface.do.low" in rules else None) == do
    assert (rules["surface.cod.high"].tiers[0] if "surface.cod.high" in rules else None) == cod
    assert "surface.nh4.high" in rules  # the health table applies to every class


def test_station_overrides() -> None:
    profiles = with_stations(
        "stations:\n"
        "  X-1:\n"
        "    rules:\n"
        "      shrimp.do.low:\n"
        "        tiers: {advisory: 4.5, critical: null}\n"
        "        min_duration: 20m\n"
        "        clear_band: 0.5\n"
        "        source: officer letter 12/2026\n"
        "      shrimp.temp.low: {enabled: false, source: no heater season}\n"
    )
    rules = by_id(
        profiles.rules_for(station("X-1", StationKind.SHRIMP_RIVER, parameters=("do", "temp")))
    )
    do = rules["shrimp.do.low"]
    assert do.tiers == (4.5, 3.5, None)
    assert do.tier_sources[0] == "officer letter 12/2026"
    assert "QCVN 02-19" in str(do.tier_sources[1])
    assert (do.min_duration_s, do.clear_band, do.clear_duration_s) == (1200, 0.5, 1800)
    assert do.override_source == "officer letter 12/2026"
    assert "shrimp.temp.low" not in rules
    assert rules["shrimp.temp.high"].override_source is None


def test_downstream_links() -> None:
    profiles = load_profiles()
    links = profiles.downstream_of("KG-EF-01")
    assert [link.downstream for link in links] == ["KG-SR-01", "KG-SR-03"]
    assert {link.rule_id for link in links} == {"pollution.upstream.KG-EF-01"}
    assert all(link.min_tier is Severity.WARNING and link.message_vi for link in links)
    assert profiles.downstream_of("KG-SR-01") == ()


def test_a_newer_regulation_is_a_data_change() -> None:
    """QCVN 40:2025: fill in the disabled set and select it; no code involved."""
    effluent = yaml.safe_load(shipped()["effluent.yaml"])
    old, new = effluent["sets"][0], effluent["sets"][2]
    assert (new["id"], new["enabled"]) == ("qcvn40_2025", False)
    cod = next(r for r in old["rules"] if r["id"] == "effluent.cod.high")
    new.update(  # made-up numbers: the 2025 table is not in the reference yet
        enabled=True,
        limit_tiers=old["limit_tiers"],
        defaults=old["defaults"],
        rules=[{**cod, "limit": {"A": 50.0, "B": 100.0, "C": 150.0}}],
    )
    entry = (
        "stations:\n  X-EF:\n    profiles:\n      effluent: {regulation: qcvn40_2025, column: C}\n"
    )
    texts = shipped() | {"effluent.yaml": yaml.safe_dump(effluent), "stations.yaml": entry}
    rules = parse_profiles(texts, source="test").rules_for(station("X-EF", StationKind.EFFLUENT))
    assert [r.rule_id for r in rules] == []  # X-EF measures only DO
    rules = parse_profiles(texts, source="test").rules_for(
        station("X-EF", StationKind.EFFLUENT, parameters=EFFLUENT)
    )
    assert [(r.rule_id, r.tiers, r.rule_set, r.verify) for r in rules] == [
        ("effluent.cod.high", (120.0, 150.0, 225.0), "qcvn40_2025", True)
    ]


def test_rows_for_the_database() -> None:
    profiles = load_profiles()
    rows = profiles.as_rows(REGISTRY.stations.values())
    compiled = profiles.compile(REGISTRY.stations.values())
    assert len(rows) == sum(len(r) for r in compiled.values())
    assert len({(r.station_id, r.rule_id) for r in rows}) == len(rows)  # the primary key
    row = next(r for r in rows if (r.station_id, r.rule_id) == ("KG-EF-02", "effluent.cod.high"))
    assert [getattr(row, c) for c in THRESHOLD_COLUMNS][:2] == [row.station_id, row.rule_id]
    assert (row.advisory, row.warning, row.critical, row.series) == (
        108.0,
        135.0,
        202.5,
        "cod_mean_1h",
    )
    assert json.loads(row.options)["kq"] == 0.9
    assert row.digest == profiles.station_digest(REGISTRY.stations["KG-EF-02"])
    assert len(row.digest) == 64
    # The digest follows the files and the station's settings, and nothing else.
    moved = REGISTRY.stations["KG-EF-02"].model_copy(update={"sampling_interval_s": 600})
    assert profiles.station_digest(moved) != row.digest
    assert load_profiles().station_digest(REGISTRY.stations["KG-EF-02"]) == row.digest
    assert THRESHOLD_COLUMNS[:3] == ("station_id", "rule_id", "profile")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("1h", 3600), ("1h30m", 5400), ("90s", 90), ("1d", 86400), (0, 0), ("0", 0)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "half an hour", "", "m", 30, True, None])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="a duration such as"):
        parse_duration(text)


SR, CS, EF, ST = "shrimp_river.yaml", "cage_sea.yaml", "effluent.yaml", "stations.yaml"
WARNING_DO = "value: {white_leg: 3.5, black_tiger: 4.0}"
RULE0, COD = "sets[0].rules[0]", "sets[0].rules[5]"
EF02, SR03 = "stations.KG-EF-02.profiles.effluent", "stations.KG-SR-03.profiles.shrimp_river"
TIGER = "shrimp_river: {species: black_tiger}"


@pytest.mark.parametrize(
    ("name", "old", "new", "field", "message"),
    [
        (SR, "profile: shrimp_river", "profile: [", "not valid YAML", ""),
        (SR, "profile: shrimp_river", "profile: shrimp", "profile", "must be the file's name"),
        (
            SR,
            WARNING_DO,
            "value: {white_leg: 4.5, black_tiger: 4.0}",
            f"{RULE0}.tiers.warning",
            "4.5 must be below advisory 4 (direction below) (for white_leg)",
        ),
        (
            SR,
            WARNING_DO,
            "value: {white_leg: 3.5}",
            f"{RULE0}.tiers.warning",
            "needs one value (or null) for each species in ['white_leg', 'black_tiger']",
        ),
        (SR, WARNING_DO, "value: {white_leg: 3, tiger: 4}", f"{RULE0}.tiers.warning", "needs"),
        (SR, WARNING_DO, "value: three", f"{RULE0}.tiers.warning", "a number"),
        (SR, "    quantity: do\n", "    quantity: oxygen\n", f"{RULE0}.quantity", "unknown"),
        (
            SR,
            "    units: mg/L\n",
            "    units: ppm\n",
            f"{RULE0}.units",
            "'ppm' differs from the unit of do: 'mg/L'",
        ),
        (
            SR,
            "    clear_band: 0.3\n",
            "    clear_band: -1\n",
            f"{RULE0}.clear_band",
            "Input should be greater than or equal to 0",
        ),
        (
            SR,
            "  min_duration: 30m\n",
            "  min_duration: 30 min\n",
            f"{RULE0}.min_duration",
            "a duration such as '30m'",
        ),
        (
            SR,
            "    direction: below\n",
            "    direction: under\n",
            f"{RULE0}.direction",
            "Input should be 'below' or 'above'",
        ),
        (
            SR,
            "    clear_band: 0.3\n",
            "    clear_band: 0.3\n        colour: red\n",
            f"{RULE0}.colour",
            "Extra inputs are not permitted",
        ),
        (
            SR,
            '        message_vi: "Oxy hòa tan thấp: bật quạt nước, giảm cho ăn"\n',
            "",
            f"{RULE0}.message_vi",
            "Field required",
        ),
        (
            SR,
            "- id: shrimp.ph.low",
            "- id: shrimp.do.low",
            "sets[0].rules[1].id",
            "'shrimp.do.low' is used twice",
        ),
        (SR, "  weights: {do_low: 30,", "  weights: {", "risk", "weights: a weight"),
        (
            CS,
            "station_kinds: [cage_sea]",
            "station_kinds: [cage_sea, effluent]",
            "effluent (station kind)",
            "exactly one profile must list it in station_kinds",
        ),
        (
            EF,
            "limit: {A: 75.0, B: 150.0}",
            "limit: {A: 75.0, B: 150.0, C: 200.0}",
            f"{COD}.limit",
            "needs one value (or null) for each column in ['A', 'B']",
        ),
        (
            EF,
            "  direction: above\n    rules:\n",
            "  direction: below\n    rules:\n",
            "sets[0].rules[3].limit",
            "limit_tiers scale upper limits only",
        ),
        (
            EF,
            "scale_by: [kq, kf]",
            "scale_by: [kq, column]",
            "sets[0].scale_by",
            "'column' is not a number option",
        ),
        (
            EF,
            "when: {regulation: qcvn40_2011}",
            "when: {regulation: qcvn40_2012}",
            "sets[0].regulation",
            "['qcvn40_2012'] are not choices",
        ),
        (EF, "    enabled: false\n", "", "sets[2].rules", "an enabled set needs at least one rule"),
        (ST, "kq: 0.9", "kq: 2.0", f"{EF02}.kq", "2.0 is not allowed; from 0.6 to 1.3"),
        (
            ST,
            "column: B, kq: 0.9",
            "column: C, kq: 0.9",
            f"{EF02}.column",
            "'C' is not defined by qcvn40_2011 (only ['A', 'B'])",
        ),
        (
            ST,
            "regulation: qcvn40_2011",
            "regulation: qcvn40_2025",
            f"{EF02}.regulation",
            "'qcvn40_2025' has no enabled rule set",
        ),
        (ST, TIGER, "shrimp_river: {species: tiger}", f"{SR03}.species", "'tiger' is not allowed"),
        (ST, TIGER, "shrimp_river: {breed: tiger}", f"{SR03}.breed", "not an option of"),
        (ST, TIGER, "shrimp_pond: {}", "stations.KG-SR-03.profiles.shrimp_pond", "unknown profile"),
        (ST, "downstream_notice:", "notice:", "notice", "Extra inputs are not permitted"),
        (
            ST,
            "min_tier: warning",
            "min_tier: severe",
            "stations.KG-EF-01.downstream[0].min_tier",
            "Input should be 'advisory', 'warning' or 'critical'",
        ),
    ],
)
def test_problems_name_the_file_and_the_field(
    name: str, old: str, new: str, field: str, message: str
) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profiles(edited(name, old, new), source="test")
    wanted = f"{field}: {message}"
    found = [p for p in caught.value.problems if wanted in p]
    assert found, caught.value.problems
    assert found[0].startswith(f"{name}: ") or field.endswith("(station kind)")


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        (
            "rules:\n      shrimp.do.lo: {enabled: false, source: typo}",
            "rules.shrimp.do.lo",
            "no such rule in any profile",
        ),
        (
            "rules:\n      cage.do.low: {enabled: false, source: wrong kind}",
            "rules.cage.do.low",
            "no such rule at this station",
        ),
        (
            "rules:\n      shrimp.do.low: {tiers: {warning: 4.5}, source: x}",
            "rules.shrimp.do.low.tiers.warning",
            "4.5 must be below advisory 4",
        ),
        (
            "rules:\n      shrimp.do.low: {tiers: {warning: 3.0}}",
            "rules.shrimp.do.low.source",
            "Field required",
        ),
        (
            "profiles: {shrimp_river: {}}\n    rules:\n      shrimp.do.lo: {source: x}",
            "rules.shrimp.do.lo",
            "no such rule at this station",
        ),
    ],
)
def test_station_problems(entry: str, field: str, message: str) -> None:
    texts = shipped() | {"stations.yaml": f"stations:\n  X-1:\n    {entry}\n"}

    def compile_x1() -> None:  # some problems show on loading, the others on compiling
        parse_profiles(texts, source="test").rules_for(station("X-1", StationKind.SHRIMP_RIVER))

    with pytest.raises(ProfileError) as caught:
        compile_x1()
    wanted = f"stations.yaml: stations.X-1.{field}: {message}"
    assert any(wanted in p for p in caught.value.problems), caught.value.problems


def test_links_need_a_notice() -> None:
    texts = shipped() | {"stations.yaml": "stations:\n  X-1: {downstream: [{station: X-2}]}\n"}
    with pytest.raises(ProfileError, match="downstream_notice: required"):
        parse_profiles(texts, source="test")


def test_stations_yaml_is_checked_against_the_registry() -> None:
    notice = shipped()["stations.yaml"].split("stations:\n  KG-SR-01")[0]
    profiles = with_stations(
        notice + "stations:\n"
        "  KG-XX-09: {}\n"
        "  KG-SR-01:\n    downstream: [{station: KG-SR-02}]\n"
        "  KG-EF-01:\n    downstream: [{station: KG-EF-02}, {station: KG-ZZ-01}]\n"
    )
    at = "stations.yaml: stations"
    with pytest.raises(ProfileError) as caught:
        profiles.validate(REGISTRY.stations.values())
    assert caught.value.problems == [
        f"{at}.KG-XX-09: not in the station registry",
        f"{at}.KG-SR-01.downstream: only effluent stations link",
        f"{at}.KG-EF-01.downstream: 'KG-EF-02' is not an aquaculture station of the registry",
        f"{at}.KG-EF-01.downstream: 'KG-ZZ-01' is not an aquaculture station of the registry",
    ]


def test_several_problems_are_reported_at_once() -> None:
    texts = edited(SR, "        units: mg/L\n", "        units: ppm\n")
    texts["cage_sea.yaml"] = texts["cage_sea.yaml"].replace(
        "direction: below", "direction: down", 1
    )
    with pytest.raises(ProfileError) as caught:
        parse_profiles(texts, source="test")
    files = {p.split(":")[0] for p in caught.value.problems}
    assert files == {"shrimp_river.yaml", "cage_sea.yaml"}
    assert str(caught.value).startswith("invalid threshold profiles:\n  - ")


def test_loading_from_a_folder(tmp_path: Path) -> None:
    for name, text in shipped().items():
        (tmp_path / name).write_text(text, "utf-8")
    (tmp_path / "README.md").write_text("not a profile", "utf-8")
    profiles = load_profiles(tmp_path)
    assert profiles.source == str(tmp_path)
    assert profiles.digest == load_profiles().digest
    (tmp_path / "stations.yaml").unlink()  # optional: every station uses its kind's defaults
    plain = load_profiles(tmp_path)
    assert plain.links == ()
    assert by_id(plain.rules_for(REGISTRY.stations["KG-SR-03"]))["shrimp.do.low"].tiers == (
        4.0,
        3.5,
        2.0,
    )
    with pytest.raises(ProfileError, match="cannot read the profiles"):
        load_profiles(tmp_path / "missing")
