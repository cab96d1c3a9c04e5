"""Simulator → broker → ingester → database, including an ingester killed with SIGKILL."""

from __future__ import annotations

import psycopg
import pytest

from stations import load_registry, sync_registry
from tests.support.common import wait_for
from tests.support.mosquitto import Broker
from tests.support.postgres import count
from tests.support.processes import IngestProcess, simulate, summary

pytestmark = pytest.mark.integration


def test_every_station_arrives_with_faults_backfill_and_status(
    worker: IngestProcess, database_url: str, broker: Broker, prefix: str
) -> None:
    published = summary(
        simulate(
            broker, prefix, "--fast", "--duration", "12h", "--seed", "5", "--scenario", "faults"
        ),
        timeout=120,
    )
    assert published["backfill_messages"] > 0  # the scenario's outage was backfilled
    wait_for(
        lambda: count(database_url, "SELECT count(*) FROM readings") == published["readings"],
        timeout=60,
        what=f"{published['readings']} readings",
    )
    with psycopg.connect(database_url) as conn:
        per_station = conn.execute(
            "SELECT station_id, count(DISTINCT parameter_id) FROM readings GROUP BY 1 ORDER BY 1"
        ).fetchall()
        statuses = conn.execute("SELECT count(*) FROM station_status").fetchone()
    assert per_station == [
        ("KG-CS-01", 8),
        ("KG-CS-02", 8),
        ("KG-EF-01", 8),
        ("KG-EF-02", 8),
        ("KG-SR-01", 8),
        ("KG-SR-02", 8),
        ("KG-SR-03", 8),
    ]
    assert statuses == (7,)
    flagged = count(database_url, "SELECT count(*) FROM readings WHERE device_status <> 0")
    assert flagged > 0  # the scenario's calibration and device-error statuses
    assert count(database_url, "SELECT count(*) FROM rejects") == 0


def test_sigkill_mid_stream_loses_nothing_and_stores_nothing_twice(
    worker: IngestProcess, database_url: str, broker: Broker, prefix: str
) -> None:
    with psycopg.connect(database_url) as conn:  # the ingester accepts registered stations only
        sync_registry(conn, load_registry().with_clones(60), deactivate_missing=False)
    publisher = simulate(
        broker, prefix, "--fast", "--duration", "1d", "--stations", "60", "--seed", "9"
    )
    wait_for(
        lambda: count(database_url, "SELECT count(*) FROM readings") > 5_000,
        timeout=60,
        what="the stream to be under way",
    )
    worker.kill()
    at_kill = count(database_url, "SELECT count(*) FROM readings")
    worker.start()
    published = summary(publisher, timeout=180)
    assert at_kill < published["readings"], "the kill came after the stream ended"
    wait_for(
        lambda: count(database_url, "SELECT count(*) FROM readings") >= published["readings"],
        timeout=90,
        what=f"{published['readings']} readings",
    )
    assert count(database_url, "SELECT count(*) FROM readings") == published["readings"]
    distinct = count(
        database_url,
        "SELECT count(*) FROM (SELECT DISTINCT station_id, parameter_id, time FROM readings) d",
    )
    assert distinct == published["readings"]
    assert count(database_url, "SELECT count(*) FROM rejects") == 0
