"""``aquawatch up`` runs the service with simulators; readings from all seven stations arrive."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from stack import EmbeddedPostgres
from telemetry import Circular10File, Circular10Line, encode_file
from tests.support.common import wait_for
from tests.support.ftp import client, store
from tests.support.mosquitto import Broker
from tests.support.network import free_port
from tests.support.postgres import count

pytestmark = pytest.mark.integration


def stations_with_readings(url: str) -> int:
    try:
        return count(url, "SELECT count(DISTINCT station_id) FROM readings")
    except psycopg.errors.UndefinedTable:
        return 0  # up has not migrated yet


def test_up_brings_readings_from_all_seven_stations_within_a_minute(
    database_url: str, prefix: str
) -> None:
    """Up's own broker: each station logs in as itself, AquaWatch as its service account."""
    log = Path(tempfile.mkstemp(prefix="aw-up-", suffix=".log")[1])
    state = Path(tempfile.mkdtemp(prefix="aw-up-state-"))
    state.chmod(0o755)  # the broker drops root and must reach its folder inside
    env = {
        **os.environ,
        "AQUAWATCH_DATABASE_URL": database_url,
        "AQUAWATCH_TOPIC_PREFIX": prefix,
        "AQUAWATCH_CLIENT_ID": f"up-{prefix}",
    }
    command = [
        sys.executable,
        "-m",
        "telemetry.cli",
        "up",
        "--state-dir",
        str(state),
        "--report-every",
        "1",
        "--history",
        "1h",
        "--metrics-port",
        str(free_port()),
        "--api-port",
        str(free_port()),
        "--ftp-port",
        str(ftp_port := free_port()),
    ]
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
        _a_logger_file_through_the_inbox(database_url, state, ftp_port)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(state, ignore_errors=True)
    output = log.read_text()
    assert "AquaWatch is up" in output
    assert "each station logs in as itself" in output
    assert "processes  ingest, alerts, notify, api, ftp, simulate" in output
    assert f"ftp inbox  ftp://127.0.0.1:{ftp_port}" in output
    assert "broker refused" not in output
    with psycopg.connect(database_url) as conn:
        issued = conn.execute("SELECT count(*) FROM station_credentials").fetchone()
    assert issued == (7,)


def _a_logger_file_through_the_inbox(database_url: str, state: Path, port: int) -> None:
    """A station's logger, with the secret up issued it, uploads a file to up's FTP inbox."""
    secrets = dict(
        line.split(":", 1) for line in (state / "station-credentials").read_text().splitlines()
    )
    at = datetime(2026, 1, 1, 5, tzinfo=UTC)
    name, content = encode_file(Circular10File("KG-SR-01", at, (Circular10Line("do", 6.5),)))
    with client(port, "KG-SR-01", secrets["KG-SR-01"]) as ftp:
        assert store(ftp, name, content).startswith("226")
    query = f"SELECT count(*) FROM readings WHERE time = '{at.isoformat()}'"
    wait_for(lambda: count(database_url, query) == 1, timeout=20, what="the file's reading")


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
        sys.executable,
        "-m",
        "telemetry.cli",
        "up",
        "--metrics-port",
        str(free_port()),
        "--api-port",
        str(free_port()),
        "--ftp-port",
        str(free_port()),
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    children = wait_for(lambda: _children(process.pid), timeout=30, what="up's processes")
    process.kill()
    process.wait(timeout=10)
    wait_for(
        lambda: not any(_running(pid) for pid in children),
        timeout=30,
        what=f"processes {children} to end",
    )


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs: gone, or exited and waiting to be reaped (a zombie, where
    the init of a container or namespace reaps slowly), it does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"  # the state follows the command's name


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    found = [int(p) for p in path.read_text().split()] if path.exists() else []
    return found if len(found) == 6 else []  # ingest, alerts, notify, api, ftp, simulate


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        path = Path(f"/proc/{todo.pop()}/task")
        for task in path.glob("*/children") if path.exists() else []:
            with contextlib.suppress(OSError):
                kids = {int(p) for p in task.read_text().split()}
                todo += sorted(kids - found)
                found |= kids
    return found


def _public_stations(api: str) -> int:
    try:
        latest = httpx.get(f"{api}/public/stations/latest", timeout=10).json()
    except httpx.TransportError:
        return 0  # not listening yet
    return len({s["station_id"] for s in latest if s["values"]})


def test_up_embedded_runs_on_its_own_services_and_sigterm_stops_everything() -> None:
    """What a fresh machine gets: embedded PostgreSQL, a private Mosquitto, a login printed."""
    state = Path(tempfile.mkdtemp(prefix="aw-up-state-"))
    state.chmod(0o755)  # the embedded server's own user must reach its data folder
    log = state / "up.log"
    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AQUAWATCH_")}
    command = [
        *(str(Path(sys.executable).with_name("aquawatch")), "up", "--embedded"),
        *("--state-dir", str(state), "--report-every", "2"),
        *("--metrics-port", str(free_port()), "--api-port", str(api_port)),
        *("--ftp-port", str(free_port())),
    ]
    database = f"postgresql://postgres@/aquawatch?host={state / 'pg'}&port=54329"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "AquaWatch is up" in log.read_text(), timeout=120, what="the banner")
        output = log.read_text()
        assert "embedded PostgreSQL" in output
        assert "each station logs in as itself, AquaWatch as aquawatch-service" in output
        password = re.search(r"officer    user officer, password (\S+)", output)
        assert password is not None, output
        wait_for(
            lambda: stations_with_readings(database) == 7,
            timeout=120,
            what="readings from all seven stations",
            every=1,
        )
        api = f"http://127.0.0.1:{api_port}/api/v1"
        wait_for(
            lambda: _public_stations(api) == 7,
            timeout=60,
            what="the public API showing all seven stations",
            every=0.5,
        )
        login = {"username": "officer", "password": password[1]}
        assert httpx.post(f"{api}/auth/token", json=login, timeout=10).status_code == 200
        children = _descendants(process.pid)
        assert len(children) >= 7  # mosquitto, ingest, alerts, notify, api, ftp, simulate
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        wait_for(
            lambda: not any(Path(f"/proc/{pid}").exists() for pid in children),
            timeout=30,
            what=f"up's processes {sorted(children)} to end",
        )
        assert not (state / "pg" / "postmaster.pid").exists()  # the database stopped too
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if (state / "pg" / "postmaster.pid").exists():
            EmbeddedPostgres(state).stop()
        shutil.rmtree(state, ignore_errors=True)
