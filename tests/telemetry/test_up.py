"""``aquawatch up`` runs the service with simulators; readings from all seven stations arrive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.support import Broker, count, free_port, wait_for

pytestmark = pytest.mark.integration


def stations_with_readings(url: str) -> int:
    try:
        return count(url, "SELECT count(DISTINCT station_id) FROM readings")
    except psycopg.errors.UndefinedTable:
        return 0  # up has not migrated yet


def test_up_brings_readings_from_all_seven_stations_within_a_minute(
    database_url: str, broker: Broker, prefix: str
) -> None:
    log = Path(tempfile.mkstemp(prefix="aw-up-", suffix=".log")[1])
    env = {
        **os.environ,
        "AQUAWATCH_DATABASE_URL": database_url,
        "AQUAWATCH_MQTT_URL": broker.url,
        "AQUAWATCH_TOPIC_PREFIX": prefix,
        "AQUAWATCH_CLIENT_ID": f"up-{prefix}",
    }
    command = [
        sys.executable, "-m", "telemetry.cli", "up", "--report-every", "1",
        "--history", "1h", "--metrics-port", str(free_port()), "--api-port", str(free_port()),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(
            lambda: stations_with_readings(database_url) == 7,
            timeout=60,
            what="readings from all seven stations",
            every=0.5,
        )
        wait_for(lambda: "from 7 stations" in log.read_text(), timeout=10, what="a report")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    output = log.read_text()
    assert "AquaWatch is up" in output
    assert "(as configured)" in output  # given settings are used as they are
    assert "processes  ingest, alerts, notify, api, simulate" in output


def test_up_killed_outright_takes_its_processes_with_it(
    database_url: str, broker: Broker, prefix: str
) -> None:
    env = {
        **os.environ,
        "AQUAWATCH_DATABASE_URL": database_url,
        "AQUAWATCH_MQTT_URL": broker.url,
        "AQUAWATCH_TOPIC_PREFIX": prefix,
    }
    command = [
        sys.executable, "-m", "telemetry.cli", "up", "--metrics-port", str(free_port()),
        "--api-port", str(free_port()),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    children = wait_for(lambda: _children(process.pid), timeout=30, what="up's processes")
    process.kill()
    process.wait(timeout=10)
    wait_for(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in children),
        timeout=30,
        what=f"processes {children} to end",
    )


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    found = [int(p) for p in path.read_text().split()] if path.exists() else []
    return found if len(found) == 5 else []  # ingest, alerts, notify, api, simulate
