"""The runner: payloads, scenarios end to end, faults on the wire, counting, clones."""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from simulators import (
    Outgoing,
    Schedule,
    Script,
    StationRunner,
    Tally,
    compile_scenarios,
    load_scenario,
    parse_scenario,
    run,
)
from stations import Registry, load_registry
from telemetry import TopicScheme, decode_readings
from tests.support.times import at_times_of_day

START = datetime.fromisoformat("2026-11-22T00:00:00+07:00").timestamp()
HOUR = 3600.0
ROOT = Path(__file__).resolve().parents[2]


class ListSink:
    """Acknowledges every message at once and keeps it."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing, on_ack: Callable[[Outgoing], None]) -> None:
        self.sent.append(message)
        on_ack(message)


def _simulate(
    *,
    seed: int = 1,
    start: float = START,
    hours: float = 6.0,
    scenarios: Sequence[str] = (),
    registry: Registry | None = None,
    block: float = HOUR,
    batch_size: int = 50,
) -> tuple[list[Outgoing], Tally]:
    registry = registry or load_registry()
    scripts = compile_scenarios([load_scenario(s) for s in scenarios], registry, start=start)
    runners = [
        StationRunner(
            s,
            seed=seed,
            script=scripts.get(s.id, Script()),
            topics=TopicScheme("t"),
            batch_size=batch_size,
        )
        for s in registry.stations.values()
    ]
    sink, tally = ListSink(), Tally()
    schedule = Schedule(start, start + hours * HOUR, fast=True, block=block)
    run(runners, sink, schedule=schedule, tally=tally, stop=threading.Event())
    return sink.sent, tally


def _readings(sent: list[Outgoing], station: str) -> dict[float, dict[str, float]]:
    """Sample time -> values of one station, from the payloads."""
    out: dict[float, dict[str, float]] = {}
    for message in sent:
        if message.station == station and message.samples:
            for sample in decode_readings(message.payload).samples:
                out[sample.epoch] = dict(sample.values)
    return out


def _series(sent: list[Outgoing], station: str, code: str) -> dict[float, float]:
    return {t: v[code] for t, v in _readings(sent, station).items() if code in v}


def _local_hour(epoch: float) -> float:
    return (epoch + 7 * 3600) % 86_400 / 3600


def test_same_seed_same_payloads_other_seed_differs() -> None:
    first, _ = _simulate(seed=5, scenarios=["faults"])
    again, _ = _simulate(seed=5, scenarios=["faults"])
    other, _ = _simulate(seed=6, scenarios=["faults"])
    assert [m.payload for m in first] == [m.payload for m in again]
    assert [m.topic for m in first] == [m.topic for m in other]
    assert [m.payload for m in first] != [m.payload for m in other]


def test_step_size_does_not_change_payloads() -> None:
    hourly, _ = _simulate(scenarios=["faults"])
    fine, _ = _simulate(scenarios=["faults"], block=300.0)
    assert sorted(m.payload for m in hourly) == sorted(m.payload for m in fine)


def test_payloads_use_the_wire_format_with_local_offset_and_increasing_seq() -> None:
    sent, _ = _simulate(hours=1)
    readings = [m for m in sent if m.samples]
    assert len(readings) == 7 * 12
    for station in load_registry().stations.values():
        mine = [m for m in readings if m.station == station.id]
        docs = [decode_readings(m.payload) for m in mine]
        assert [d.seq for d in docs] == list(range(1, 13))
        assert all(m.topic == f"t/v1/{station.id}/readings" for m in mine)
        assert all(set(d.samples[0].values) == set(station.parameters) for d in docs)
        assert b'"ts":"2026-11-22T00:00:00+07:00"' in mine[0].payload


def _only(*station_ids: str) -> Registry:
    stations = load_registry().stations
    return Registry(tuple(stations[s] for s in station_ids), (), source="test")


@at_times_of_day
def test_do_crash_tonight_takes_do_below_3_before_dawn(now: datetime) -> None:
    # "tonight 18:30" is 18:30 of the start's date (under way already when the run starts
    # at 19:30); dawn is the next 06:00
    start = now.timestamp()
    night = now.replace(hour=18, minute=30).timestamp()
    dawn = (now.replace(hour=6, minute=0) + timedelta(days=1)).timestamp()
    hours = (dawn - start) / HOUR
    registry = _only("KG-SR-01", "KG-SR-02")
    crashed, _ = _simulate(
        start=start, hours=hours, scenarios=["do_crash_tonight"], registry=registry
    )
    calm, _ = _simulate(start=start, hours=hours, registry=registry)
    do = _series(crashed, "KG-SR-02", "do")
    assert max(do) == dawn - 300  # the run reached dawn
    below = sorted(t for t, v in do.items() if night <= t < dawn and v < 3.0)
    assert below, "DO never fell below 3 mg/L"
    assert below[0] < dawn - 3 * HOUR  # hours of warning before dawn
    assert min(v for t, v in _series(calm, "KG-SR-02", "do").items() if t >= night) > 3.0
    assert _series(crashed, "KG-SR-01", "do") == _series(calm, "KG-SR-01", "do")


@at_times_of_day
def test_cod_pulse_raises_cod_at_kg_ef_01_at_14_00(now: datetime) -> None:
    # "14:00" is the first 14:00 at or after the start: today's, or tomorrow's after it
    start = now.timestamp()
    today = now.replace(hour=14, minute=0)
    pulse = (today if today >= now else today + timedelta(days=1)).timestamp()
    hours = (pulse - start) / HOUR + 3
    registry = _only("KG-EF-01")
    pulsed, _ = _simulate(start=start, hours=hours, scenarios=["cod_pulse"], registry=registry)
    calm, _ = _simulate(start=start, hours=hours, registry=registry)
    with_pulse, without = _series(pulsed, "KG-EF-01", "cod"), _series(calm, "KG-EF-01", "cod")
    assert with_pulse.keys() == without.keys()
    assert max(with_pulse) > pulse + 2 * HOUR  # the run outlasted the pulse
    for t, value in with_pulse.items():
        if t <= pulse:
            assert value == without[t]
        elif pulse + 0.25 * HOUR <= t < pulse + 2 * HOUR:
            assert value == pytest.approx(4 * without[t], rel=0.01)
    assert max(with_pulse.values()) > 150.0  # over QCVN 40:2011 column B


def _faults_run(**kwargs: float) -> tuple[list[Outgoing], list[Outgoing]]:
    faulty, _ = _simulate(scenarios=["faults"], **kwargs)  # type: ignore[arg-type]
    calm, _ = _simulate(**kwargs)  # type: ignore[arg-type]
    return faulty, calm


def test_faults_on_the_wire() -> None:
    faulty, calm = _faults_run()
    stuck = _series(faulty, "KG-SR-01", "do")
    window = [v for t, v in sorted(stuck.items()) if START + HOUR <= t < START + 3 * HOUR]
    assert len(window) == 24
    assert len(set(window)) == 1
    assert window[0] == _series(calm, "KG-SR-01", "do")[START + HOUR]

    spiked, clean = _series(faulty, "KG-SR-03", "temp"), _series(calm, "KG-SR-03", "temp")
    differences = {t: spiked[t] - clean[t] for t in clean}
    assert {t for t, d in differences.items() if d} == {START + 1800}
    assert differences[START + 1800] == pytest.approx(8.0)

    dropped = set(_readings(calm, "KG-EF-02")) - set(_readings(faulty, "KG-EF-02"))
    assert dropped == {START + 3 * HOUR + i * 300 for i in range(6)}

    skewed = set(_readings(faulty, "KG-CS-02")) - set(_readings(calm, "KG-CS-02"))
    assert skewed == {START + 2 * HOUR + i * 300 - 150 for i in range(12)}


def test_outage_withholds_then_backfills_in_batches_with_original_times() -> None:
    faulty, calm = _faults_run(batch_size=8)
    messages = [m for m in faulty if m.station == "KG-CS-01"]
    outage = [START + HOUR + i * 300 for i in range(18)]
    backfill = [m for m in messages if m.backfill]
    assert [m.samples for m in backfill] == [8, 8, 2]
    assert all(m.release == START + 2.5 * HOUR for m in backfill)
    times = [s.epoch for m in backfill for s in decode_readings(m.payload).samples]
    assert times == outage
    assert _readings(faulty, "KG-CS-01") == _readings(calm, "KG-CS-01")  # nothing lost
    # nothing from the outage window went out before the link came back
    live = [m for m in messages if m.samples and not m.backfill]
    assert not [m for m in live if outage[0] <= m.release < START + 2.5 * HOUR]
    states = [(m.release, m.payload) for m in messages if not m.samples]
    assert (START + HOUR, b'{"state":"offline","ts":"2026-11-22T01:00:00+07:00"}') in states
    seqs = [decode_readings(m.payload).seq or 0 for m in messages if m.samples]
    assert seqs == list(range(1, len(seqs) + 1))


def test_tally_counts_exactly_what_was_acknowledged() -> None:
    sent, tally = _simulate(scenarios=["faults"])
    readings = [decode_readings(m.payload) for m in sent if m.samples]
    assert tally.messages == len(readings)
    assert tally.samples == sum(len(d.samples) for d in readings)
    assert tally.readings == sum(len(s.values) for d in readings for s in d.samples)
    assert tally.status_messages == 7 + 7 + 2  # online, offline, and the outage's two
    assert tally.backfill_messages == 1


def test_skew_onto_the_sampling_grid_counts_repeated_identities_once() -> None:
    scenario = parse_scenario(
        "events:\n  - {at: '+1h', station: KG-SR-01, event: clock_skew, "
        "duration: 30m, offset: -5m}\n",
        source="s.yaml",
    )
    registry = load_registry()
    script = compile_scenarios([scenario], registry, start=START)["KG-SR-01"]
    runner = StationRunner(
        registry.stations["KG-SR-01"], seed=1, script=script, topics=TopicScheme(), batch_size=50
    )
    sink, tally = ListSink(), Tally()
    schedule = Schedule(START, START + 2 * HOUR, fast=True)
    run([runner], sink, schedule=schedule, tally=tally, stop=threading.Event(), announce=False)
    assert tally.samples == 24
    assert tally.readings == (24 - 1) * 8  # 01:25 stamped 01:25 and 01:30 stamped 01:25


@pytest.mark.parametrize("count", [1, 7, 25, 300])
def test_stations_clones_give_distinct_ids(count: int) -> None:
    sent, tally = _simulate(hours=0.25, registry=load_registry().with_clones(count))
    ids = {m.station for m in sent if m.samples}
    assert len(ids) == count
    assert tally.messages == 3 * count


def test_stop_ends_the_run_early_and_counts_only_what_was_sent() -> None:
    stop = threading.Event()
    stop.set()
    registry = load_registry()
    runners = [
        StationRunner(s, seed=1, script=Script(), topics=TopicScheme(), batch_size=50)
        for s in registry.stations.values()
    ]
    sink, tally = ListSink(), Tally()
    run(runners, sink, schedule=Schedule(START, None), tally=tally, stop=stop)
    assert tally.messages == 0
    assert tally.status_messages == 14


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return names


def test_simulators_use_only_public_apis_and_nobody_imports_them() -> None:
    for path in (ROOT / "simulators").glob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top not in {"ingest", "alerts", "viz"}, (path, name)
            if top in {"telemetry", "stations"}:
                assert name == top, f"{path.name} imports {name}: use `from {top} import ...`"
    for package in ("telemetry", "stations", "ingest", "alerts", "viz"):
        for path in (ROOT / package).rglob("*.py"):
            assert not any(n.split(".")[0] == "simulators" for n in _imports(path)), path


def test_history_is_published_at_once_then_the_run_goes_live() -> None:
    registry = load_registry()
    runners = [
        StationRunner(s, seed=1, script=Script(), topics=TopicScheme(), batch_size=50)
        for s in registry.stations.values()
    ]
    stop = threading.Event()

    class StopAfterHistory(ListSink):
        def send(self, message: Outgoing, on_ack: Callable[[Outgoing], None]) -> None:
            super().send(message, on_ack)
            if len([m for m in self.sent if m.samples]) == 7 * 12:
                stop.set()  # the whole hour of history arrived in the first publishing round

    sink, tally = StopAfterHistory(), Tally()
    # One hour of history before "now" (live_from); real time, speed 1.
    schedule = Schedule(START - HOUR, None, live_from=START)
    run(runners, sink, schedule=schedule, tally=tally, stop=stop)
    times = sorted(
        {s.epoch for m in sink.sent if m.samples for s in decode_readings(m.payload).samples}
    )
    assert times[0] == START - HOUR
    assert times[-1] == START - 300  # every 5-minute sample of the past hour, none from the future
    assert tally.messages == 7 * 12
