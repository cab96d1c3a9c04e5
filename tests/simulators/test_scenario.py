"""Scenario files: time and duration forms, validation errors naming file and field."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from simulators import (
    DoCrash,
    EffluentPulse,
    ScenarioError,
    compile_scenarios,
    load_scenario,
    parse_duration,
    parse_scenario,
    resolve_time,
)
from simulators.faults import ClockSkew, Outage, Spike, Stuck
from stations import load_registry
from tests.support.times import local_time

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime.fromisoformat("2026-11-22T10:00:00+07:00").timestamp()


def _local(text: str) -> float:
    return datetime.fromisoformat(f"{text}+07:00").timestamp()


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        ("1d6h", 108_000),
        ("-15m", -900),
        ("2m30s", 150),
        ("0.5h", 1800),
        (600, 600),
    ],
)
def test_durations(raw: str | int, seconds: float) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["", "2 hours", "h", "1x", "--1h"])
def test_bad_durations(raw: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(raw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+2h", "2026-11-22T12:00:00"),
        ("+0m", "2026-11-22T10:00:00"),
        ("14:00", "2026-11-22T14:00:00"),
        ("09:00", "2026-11-23T09:00:00"),  # already past at the start: tomorrow
        ("10:00", "2026-11-22T10:00:00"),
        ("today 08:00", "2026-11-22T08:00:00"),
        ("tomorrow 06:00", "2026-11-23T06:00:00"),
        ("tonight 22:00", "2026-11-22T22:00:00"),
        ("tonight 02:00", "2026-11-23T02:00:00"),
        ("day 1 14:00", "2026-11-22T14:00:00"),
        ("day 3 14:00", "2026-11-24T14:00:00"),
        ("2026-11-25T14:00:00+07:00", "2026-11-25T14:00:00"),
        ("2026-11-25T07:00:00+00:00", "2026-11-25T14:00:00"),
    ],
)
def test_times(text: str, expected: str) -> None:
    assert resolve_time(text, start=START, zone=HCM) == _local(expected)


# The built-in scenarios' times, for runs started at each time of day on 22/11.
@pytest.mark.parametrize(
    ("start", "text", "expected"),
    [
        ("00:30", "14:00", "2026-11-22T14:00:00"),
        ("04:57", "14:00", "2026-11-22T14:00:00"),
        ("12:00", "14:00", "2026-11-22T14:00:00"),
        ("19:30", "14:00", "2026-11-23T14:00:00"),  # today's is past: tomorrow's
        # "tonight" is the night that begins on the start's date, even one under way at
        # 19:30, and still to come after midnight
        ("00:30", "tonight 18:30", "2026-11-22T18:30:00"),
        ("04:57", "tonight 18:30", "2026-11-22T18:30:00"),
        ("12:00", "tonight 18:30", "2026-11-22T18:30:00"),
        ("19:30", "tonight 18:30", "2026-11-22T18:30:00"),
        ("00:30", "tonight 02:00", "2026-11-23T02:00:00"),
        ("19:30", "tonight 02:00", "2026-11-23T02:00:00"),
        ("04:57", "+1h", "2026-11-22T05:57:00"),
    ],
)
def test_times_from_each_time_of_day(start: str, text: str, expected: str) -> None:
    moment = local_time(start).timestamp()
    assert resolve_time(text, start=moment, zone=HCM) == _local(expected)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


EVENT = "events:\n  - {at: '+1h', station: KG-SR-01, "


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("events: []\n", "events: Tuple should have at least 1 item"),
        ("name: x\n", "events: Field required"),
        ("events: [\n", "not valid YAML"),
        (EVENT + "event: do_crash, speed: 2}\n", "events[0].speed: Extra inputs"),
        (EVENT + "event: meteor}\n", "events[0]: Input tag 'meteor'"),
        (
            EVENT + "event: do_crash, duration: soon}\n",
            "events[0].duration: a duration such as 90s, 30m",
        ),
        (EVENT + "event: do_crash, rate: -1}\n", "events[0].rate: Input should be greater"),
        (EVENT + "event: spike, parameter: do}\n", "events[0].delta: Field required"),
        (EVENT + "event: status, duration: 1h, code: 3}\n", "events[0].code"),
        (EVENT + "event: clock_skew, duration: 1h, offset: 2d}\n", "events[0].offset"),
        (
            "events:\n  - {at: 'yesterday', station: KG-SR-01, event: outage, duration: 1h}\n",
            "events[0].at: an ISO time with offset, +2h",
        ),
        (
            "events:\n  - {at: '2026-11-22T14:00', station: KG-SR-01, event: rain}\n",
            "events[0].at: an ISO time with offset, +2h",  # no offset
        ),
    ],
)
def test_errors_name_the_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid scenario")
    assert field in message


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ("{at: '+1h', station: KG-XX-99, event: outage, duration: 1h}", "events[0].station"),
        (
            "{at: '+1h', station: KG-SR-01, event: spike, parameter: cod, delta: 1}",
            "events[0].parameter: KG-SR-01 does not measure ['cod']",
        ),
        (
            "{at: '+1h', station: KG-SR-01, event: status, duration: 1h, code: 2, "
            "parameters: [do, flow]}",
            "events[0].parameters",
        ),
    ],
)
def test_compile_errors_name_the_file_and_field(event: str, field: str) -> None:
    scenario = parse_scenario(f"events:\n  - {event}\n", source="my.yaml")
    with pytest.raises(ScenarioError) as caught:
        compile_scenarios([scenario], load_registry(), start=START)
    assert str(caught.value).startswith("my.yaml: invalid scenario")
    assert field in str(caught.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope\.yaml: invalid scenario"):
        load_scenario(tmp_path / "nope.yaml")


def test_unquoted_clock_time_is_read_as_a_clock_time() -> None:
    # YAML 1.1 reads 14:00 as the sexagesimal integer 840
    scenario = parse_scenario(
        "events:\n  - {at: 14:00, station: KG-EF-01, event: cod_pulse}\n", source="s.yaml"
    )
    assert scenario.content.events[0].at == "14:00"


def test_builtin_scenarios_compile() -> None:
    registry = load_registry()
    scripts = compile_scenarios(
        [load_scenario(n) for n in ("do_crash_tonight", "cod_pulse", "faults")],
        registry,
        start=START,
    )
    crash = scripts["KG-SR-02"].episodes[0]
    assert crash == DoCrash(_local("2026-11-22T18:30:00"), 11.5 * 3600, 0.35)
    pulse = scripts["KG-EF-01"].episodes[0]
    assert pulse == EffluentPulse(_local("2026-11-22T14:00:00"), 7200.0, 4.0)
    assert scripts["KG-SR-01"].faults == (Stuck("do", START + 3600, START + 3 * 3600),)
    assert scripts["KG-SR-03"].faults == (Spike("temp", START + 1800, 8.0),)
    assert scripts["KG-CS-01"].faults == (Outage(START + 3600, START + 9000),)
    assert scripts["KG-CS-02"].faults == (ClockSkew(START + 7200, START + 10_800, -150.0),)


def test_spike_time_snaps_to_the_next_sample() -> None:
    scenario = parse_scenario(
        "events:\n  - {at: '+7m', station: KG-SR-03, event: spike, parameter: do, delta: 3}\n",
        source="s.yaml",
    )
    script = compile_scenarios([scenario], load_registry(), start=START)["KG-SR-03"]
    assert script.faults == (Spike("do", START + 600, 3.0),)
