"""Simulator → broker → ingester → database → alert engine, and a restart of the engine."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from alerts.engine import Engine
from alerts.profiles import load_profiles
from alerts.quality import load_quality_config
from alerts.settings import AlertSettings
from stations import load_registry
from telemetry import QCFlag
from tests.support import Broker, IngestProcess, count, simulate, summary, wait_for

pytestmark = pytest.mark.integration

HOURS = 24


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


@pytest.fixture
def stored(database_url: str, broker: Broker, prefix: str, tmp_path: Path) -> tuple[str, float]:
    """A day of the seven stations in the database, with a stuck DO sensor and a COD pulse.

    The sensor sticks 4 h into the day, or at 09:00 local if that would be between 03:00 and
    09:00: stuck at the dawn minimum, its frozen value would continue a real low-DO dip for
    the half hour the flat-line check needs, which is not what this test is about.
    """
    start = time.time() - HOURS * 3600
    stuck = start + 4 * 3600
    local_hour = ((stuck + 7 * 3600) % 86_400) / 3600
    if 3 <= local_hour < 9:
        stuck += (9 - local_hour) * 3600
    scenario = tmp_path / "engine.yaml"
    scenario.write_text(
        "name: engine\nevents:\n"
        f"  - {{at: '{iso(stuck)}', station: KG-SR-02, event: stuck,"
        " parameter: do, duration: 10h}\n"
        f"  - {{at: '{iso(start + 12 * 3600)}', station: KG-EF-01, event: cod_pulse,"
        " duration: 2h, factor: 4}\n"
    )
    worker = IngestProcess(database_url=database_url, broker=broker, prefix=prefix)
    worker.start()
    try:
        published = summary(
            simulate(broker, prefix, "--fast", "--duration", f"{HOURS}h", "--seed", "3",
                     "--scenario", str(scenario)),
            timeout=120,
        )  # fmt: skip
        wait_for(
            lambda: count(database_url, "SELECT count(*) FROM readings") == published["readings"],
            timeout=60,
            what="all readings stored",
        )
    finally:
        worker.close()
    return database_url, stuck


def engine() -> Engine:
    return Engine(
        AlertSettings(), registry=load_registry(), profiles=load_profiles(),
        quality=load_quality_config(),
    )  # fmt: skip


def alerts(url: str) -> list[tuple[str, str, str, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT station_id, rule_id, family, severity FROM alerts ORDER BY 1, 2"
        ).fetchall()
    return [(str(a), str(b), str(c), int(d)) for a, b, c, d in rows]


def test_scenarios_raise_the_right_alerts_and_a_restart_repeats_none(
    stored: tuple[str, float],
) -> None:
    url, stuck = stored
    first = engine()
    with psycopg.connect(url) as conn:
        first.load(conn)
        report = first.tick(conn)
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
    assert {q for q, _ in flags} <= {QCFlag.SUSPECT, QCFlag.FAIL}  # stored with the readings

    # The COD pulse at the fishing port: a pollution alert there, notices downstream.
    assert ("KG-EF-01", "effluent.cod.high") in rules
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
        second.load(conn)
        again = second.tick(conn)
        events_after = conn.execute("SELECT count(*) FROM alert_events").fetchone()
    assert again.transitions == []
    assert alerts(url) == raised
    assert events == events_after
