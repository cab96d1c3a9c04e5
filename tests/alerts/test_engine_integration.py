"""Simulator → broker → ingester → database → alert engine, and a restart of the engine.

The run ends at fixed local times across the day: its data is the day before ``now``, and
the engine evaluates it at ``now`` (its clock), whatever the wall clock reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from alerts.config.quality import load_quality_config
from alerts.config.threshold_profiles import load_profiles
from alerts.engine import Engine
from alerts.settings import AlertSettings
from simulators import resolve_time
from stations import load_registry
from telemetry import QCFlag
from tests.support.common import wait_for
from tests.support.mosquitto import Broker
from tests.support.postgres import count
from tests.support.processes import IngestProcess, simulate, summary
from tests.support.times import LOCAL_ZONE, at_times_of_day

pytestmark = pytest.mark.integration

HOURS = 24


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def stuck_at(start: float) -> float:
    """When the DO sensor sticks: 4 h into the day, or at 09:00 if that falls in 03:00-09:00.

    Stuck at the dawn minimum, its frozen value would continue a real low-DO dip for the
    half hour the flat-line check needs, which is not what this test is about.
    """
    stuck = start + 4 * 3600
    local_hour = datetime.fromtimestamp(stuck, LOCAL_ZONE).hour
    if 3 <= local_hour < 9:
        stuck = datetime.fromtimestamp(stuck, LOCAL_ZONE).replace(hour=9, minute=0).timestamp()
    return stuck


def store_day(
    database_url: str, broker: Broker, prefix: str, tmp_path: Path, *, end: float
) -> None:
    """The day before ``end`` of the seven stations in the database: the built-in COD pulse
    scenario (14:00 at KG-EF-01) and a DO sensor at KG-SR-02 stuck for 10 h."""
    start = end - HOURS * 3600
    scenario = tmp_path / "stuck.yaml"
    scenario.write_text(
        "name: stuck\nevents:\n"
        f"  - {{at: '{iso(stuck_at(start))}', station: KG-SR-02, event: stuck,"
        " parameter: do, duration: 10h}\n"
    )
    worker = IngestProcess(database_url=database_url, broker=broker, prefix=prefix)
    worker.start()
    try:
        published = summary(
            simulate(
                broker,
                prefix,
                "--fast",
                "--start",
                iso(start),
                "--duration",
                f"{HOURS}h",
                "--seed",
                "3",
                "--scenario",
                "cod_pulse",
                "--scenario",
                str(scenario),
            ),
            timeout=120,
        )
        assert published["end"] == iso(end)
        wait_for(
            lambda: count(database_url, "SELECT count(*) FROM readings") == published["readings"],
            timeout=60,
            what="all readings stored",
        )
    finally:
        worker.close()


def engine() -> Engine:
    return Engine(
        AlertSettings(),
        registry=load_registry(),
        profiles=load_profiles(),
        quality=load_quality_config(),
    )


def alerts(url: str) -> list[tuple[str, str, str, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT station_id, rule_id, family, severity FROM alerts ORDER BY 1, 2"
        ).fetchall()
    return [(str(a), str(b), str(c), int(d)) for a, b, c, d in rows]


@at_times_of_day
def test_scenarios_raise_the_right_alerts_and_a_restart_repeats_none(
    now: datetime, database_url: str, broker: Broker, prefix: str, tmp_path: Path
) -> None:
    end = now.timestamp()
    store_day(database_url, broker, prefix, tmp_path, end=end)
    url = database_url
    stuck = stuck_at(end - HOURS * 3600)
    first = engine()
    with psycopg.connect(url) as conn:
        first.load(conn, now=end)
        report = first.tick(conn, now=end)
        while first.behind:  # the day's QC flags and rules, stored by the ticks after the first
            first.tick(conn, now=end)
    raised = alerts(url)
    rules = {(s, r) for s, r, _, _ in raised}

    # The stuck DO sensor: a maintenance notice, and its frozen value raises no DO alert.
    assert ("KG-SR-02", "maintenance.do") in rules
    assert not [r for s, r in rules if s == "KG-SR-02" and r.startswith("shrimp.do")]
    with psycopg.connect(url) as conn:
        flags = conn.execute(
            "SELECT qc, count(*) FROM readings WHERE station_id = 'KG-SR-02'"
            " AND parameter_id = 3 AND time >= to_timestamp(%s) AND time < to_timestamp(%s)"
            " GROUP BY 1",
            (stuck + 7 * 3600, stuck + 10 * 3600),  # well into the stuck hours
        ).fetchall()
    # Stored with the readings, for each of the 36 five-minute samples of those hours.
    assert {q for q, _ in flags} <= {QCFlag.SUSPECT, QCFlag.FAIL}
    assert sum(n for _, n in flags) == 36

    # The COD pulse at the fishing port (14:00-16:00, inside the day whenever it ends): a
    # pollution alert there, opened during the pulse, and notices downstream.
    pulse = resolve_time("14:00", start=end - HOURS * 3600, zone=LOCAL_ZONE)
    with psycopg.connect(url) as conn:
        opened = conn.execute(
            "SELECT extract(epoch FROM opened_at)::float8 FROM alerts"
            " WHERE station_id = 'KG-EF-01' AND rule_id = 'effluent.cod.high'"
        ).fetchall()
    assert len(opened) == 1
    assert pulse < opened[0][0] <= pulse + 2 * 3600, datetime.fromtimestamp(opened[0][0], UTC)
    assert ("KG-SR-01", "pollution.upstream.KG-EF-01.cod") in rules
    assert ("KG-SR-03", "pollution.upstream.KG-EF-01.cod") in rules

    # The rules in force are in the database with their sources, as the engine compiled them.
    with psycopg.connect(url) as conn:
        cod = conn.execute(
            "SELECT advisory, warning, critical, source, basis FROM threshold_profiles"
            " WHERE station_id = 'KG-EF-02' AND rule_id = 'effluent.cod.high'"
        ).fetchone()
        unsourced = conn.execute(
            "SELECT count(*) FROM threshold_profiles WHERE source = ''"
        ).fetchone()
    assert cod is not None
    assert cod[:3] == (108.0, 135.0, 202.5)  # QCVN 40:2011 column B: 150 x Kq 0.9 x Kf 1
    assert "QCVN 40:2011" in cod[3]
    assert unsourced == (0,)

    # Every transition is an event; a restarted engine derives the same and adds nothing.
    assert report.transitions
    with psycopg.connect(url) as conn:
        events = conn.execute("SELECT count(*) FROM alert_events").fetchone()
        second = engine()
        second.load(conn, now=end)
        again = second.tick(conn, now=end)
        events_after = conn.execute("SELECT count(*) FROM alert_events").fetchone()
    assert again.transitions == []
    assert alerts(url) == raised
    assert events == events_after
