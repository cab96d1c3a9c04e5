"""``aquawatch forward`` against a real FTP server (pyftpdlib) as the upstream receiver."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from stations import load_registry, sync_registry
from telemetry import (
    PARAMETERS,
    Circular10File,
    Circular10Line,
    decode_file,
    encode_file,
    migrate,
)
from tests.support.common import wait_for
from tests.support.ftp import InboxProcess, Receiver, registry_file, self_signed
from tests.support.postgres import PostgresServer, count

pytestmark = pytest.mark.integration

START = datetime(2026, 5, 1, tzinfo=UTC)
A_INSTANTS = 120
B_INSTANTS = 40


@dataclass
class Setup:
    url: str
    folder: Path
    stations: Path


def seed(url: str) -> None:
    """ST-A: 120 instants of temp, ph, do, sal (do calibrating each 10th); ST-B: 40 of cod, flow."""
    rows = []
    for i in range(A_INSTANTS):
        at = START + timedelta(minutes=5 * i)
        rows += [
            (at, "ST-A", PARAMETERS["temp"].id, 29.0 + i / 100, 0),
            (at, "ST-A", PARAMETERS["ph"].id, 7.5, 0),
            (at, "ST-A", PARAMETERS["do"].id, 5.0 + i / 1000, 1 if i % 10 == 0 else 0),
            (at, "ST-A", PARAMETERS["sal"].id, 15.25, 0),
        ]
    for i in range(B_INSTANTS):
        at = START + timedelta(minutes=5 * i)
        rows += [
            (at, "ST-B", PARAMETERS["cod"].id, 40.0 + i, 0),
            (at, "ST-B", PARAMETERS["flow"].id, 80.5, 2 if i == 3 else 0),
        ]
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
        cur.copy(
            "COPY readings (time, station_id, parameter_id, value, device_status) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


@pytest.fixture
def setup(postgres: PostgresServer) -> Iterator[Setup]:
    folder = Path(tempfile.mkdtemp(prefix="aw-fwd-"))
    stations = registry_file(folder)
    with postgres.database() as url:
        migrate(url)
        with psycopg.connect(url) as conn:
            sync_registry(conn, load_registry(stations), deactivate_missing=True)
        seed(url)
        yield Setup(url, folder, stations)


@pytest.fixture
def receiver(setup: Setup) -> Iterator[Receiver]:
    root = setup.folder / "ministry"
    root.mkdir()
    instance = Receiver(root, user="centre", secret="s3cret-upstream")
    instance.start()
    yield instance
    instance.stop()


def forward(setup: Setup, *args: str, **settings: str) -> InboxProcess:
    return InboxProcess(
        command=("forward", *args),
        ready="forwarding to",
        database_url=setup.url,
        stations_file=str(setup.stations),
        forward_password="s3cret-upstream",
        forward_since_h="100000",
        forward_poll_s="0.1",
        forward_retry_min_s="0.1",
        forward_retry_max_s="0.5",
        forward_timeout_s="5",
        **settings,
    )


def run_once(process: InboxProcess) -> dict[str, int]:
    process.start()
    assert process.process is not None
    assert process.process.wait(timeout=120) == 0, process.log.read_text()
    result: dict[str, int] = json.loads(process.log.read_text().strip().splitlines()[-1])
    return result


def test_every_instant_once_as_the_circular_names_it(setup: Setup, receiver: Receiver) -> None:
    url = f"ftp://centre@127.0.0.1:{receiver.port}/incoming/ag"
    assert run_once(forward(setup, "--to", url, "--once")) == {
        "sent": A_INSTANTS + B_INSTANTS,
        "confirmed": 0,
        "failures": 0,
    }
    files = receiver.files()
    assert len(files) == A_INSTANTS + B_INSTANTS
    assert {f.parent for f in files} == {receiver.root / "incoming" / "ag"}
    assert files[0].name == "AG_KCN_STB_20260501070000.txt"  # the registry's file code
    assert files[-1].name == "ST-A_20260501165500.txt"  # local time, UTC+7
    first = decode_file(files[B_INSTANTS].name, files[B_INSTANTS].read_bytes())
    assert first.time == START
    assert [(x.code, x.value, x.status) for x in first.lines] == [
        ("temp", 29.0, 0),
        ("ph", 7.5, 0),
        ("do", 5.0, 1),
        ("sal", 15.25, 0),
    ]
    assert set(receiver.arrivals.values()) == {1}
    assert count(setup.url, "SELECT count(*) FROM forward_log WHERE state = 'sent'") == 160
    # Nothing new: a second run sends nothing.
    assert run_once(forward(setup, "--to", url, "--once"))["sent"] == 0
    assert set(receiver.arrivals.values()) == {1}


def test_a_password_on_the_command_line_is_refused(setup: Setup, receiver: Receiver) -> None:
    url = f"ftp://centre:s3cret-upstream@127.0.0.1:{receiver.port}/"
    process = forward(setup, "--to", url, "--once")
    with process.log.open("ab") as log:
        done = subprocess.run(
            [sys.executable, "-m", "telemetry.cli", *process.command],
            env=process.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=60,
        )
    assert done.returncode != 0
    assert "AQUAWATCH_FORWARD_PASSWORD" in process.log.read_text()
    assert receiver.files() == []


def test_a_receiver_gets_only_its_stations_and_parameters_over_ftps(
    setup: Setup, tmp_path: Path
) -> None:
    pem = self_signed(tmp_path)
    root = tmp_path / "lgsp"
    root.mkdir()
    upstream = Receiver(root, user="lgsp", secret="pw-lgsp", pem=pem)
    upstream.start()
    config = tmp_path / "receivers.yaml"
    config.write_text(
        "receivers:\n"
        "  - name: lgsp\n"
        f"    url: ftps://lgsp:pw-lgsp@127.0.0.1:{upstream.port}/\n"
        "    stations: [ST-B]\n"
        "    parameters: [cod]\n"
        "    temporary_suffix: ''\n"
    )
    try:
        result = run_once(
            forward(
                setup, "--config", str(config), "--once", forward_ca_file=str(tmp_path / "cert.pem")
            )
        )
    finally:
        upstream.stop()
    assert result["sent"] == B_INSTANTS
    files = upstream.files()
    assert len(files) == B_INSTANTS
    assert all(f.read_bytes().startswith(b"COD\t") and b"Flow" not in f.read_bytes() for f in files)


def test_while_the_receiver_is_down_errors_show_then_it_catches_up_in_order(
    setup: Setup, receiver: Receiver
) -> None:
    receiver.stop()
    url = f"ftp://centre@127.0.0.1:{receiver.port}/"
    process = forward(setup, "--to", url)
    process.start()
    try:
        wait_for(
            lambda: (
                count(setup.url, "SELECT count(*) FROM forward_state WHERE last_error IS NOT NULL")
                == 2
            ),
            timeout=20,
            what="the failure recorded for both stations",
        )
        assert receiver.files() == []
        receiver.start()
        wait_for(
            lambda: len(receiver.files()) == A_INSTANTS + B_INSTANTS,
            timeout=60,
            what="the backlog forwarded",
        )
        wait_for(
            lambda: (
                count(setup.url, "SELECT count(*) FROM forward_state WHERE last_error IS NULL") == 2
            ),
            timeout=10,
            what="the errors cleared",
        )
    finally:
        assert process.terminate() == 0
    with psycopg.connect(setup.url) as conn:
        order = conn.execute(
            "SELECT station_id, file_time FROM forward_log ORDER BY sent_at, file_time"
        ).fetchall()
    for station in ("ST-A", "ST-B"):
        times = [t for s, t in order if s == station]
        assert times == sorted(times)
    assert set(receiver.arrivals.values()) == {1}


def test_kill_9_of_forward_mid_stream_neither_skips_nor_resends(
    setup: Setup, receiver: Receiver
) -> None:
    url = f"ftp://centre@127.0.0.1:{receiver.port}/"
    process = forward(setup, "--to", url, forward_batch_files="7")
    process.start()
    try:
        for at in (25, 70, 120):
            wait_for(lambda at=at: len(receiver.files()) >= at, timeout=60, what=f"{at} files")  # type: ignore[misc]
            process.kill()
            process.start()
        wait_for(
            lambda: len(receiver.files()) == A_INSTANTS + B_INSTANTS,
            timeout=60,
            what="every file forwarded",
        )
        wait_for(
            lambda: (
                count(setup.url, "SELECT count(*) FROM forward_log WHERE state = 'sent'")
                == A_INSTANTS + B_INSTANTS
            ),
            timeout=20,
            what="every file marked sent",
        )
    finally:
        process.close()
    assert sum(receiver.arrivals.values()) == A_INSTANTS + B_INSTANTS  # none arrived twice
    assert set(receiver.arrivals.values()) == {1}


def test_the_file_in_flight_at_a_crash_is_checked_on_the_receiver(
    setup: Setup, receiver: Receiver
) -> None:
    """As a crash leaves it: one file of each station 'sending'; B's arrived whole, A's half."""
    name_b, content_b = encode_file(
        Circular10File(
            "AG_KCN_STB", START, (Circular10Line("cod", 40.0), Circular10Line("flow", 80.5))
        )
    )
    name_a = "ST-A_20260501070000.txt"
    (receiver.root / name_b).write_bytes(content_b)
    (receiver.root / name_a).write_bytes(b"Temp\t29.0\t")
    me = f"127.0.0.1:{receiver.port}/"
    with psycopg.connect(setup.url) as conn:
        for station, name, size in (("ST-B", name_b, len(content_b)), ("ST-A", name_a, 80)):
            conn.execute(
                "INSERT INTO forward_log (receiver, station_id, file_time, name, size, state)"
                " VALUES (%s, %s, %s, %s, %s, 'sending')",
                (me, station, START, name, size),
            )
    url = f"ftp://centre@127.0.0.1:{receiver.port}/"
    result = run_once(forward(setup, "--to", url, "--once"))
    assert result == {"sent": A_INSTANTS + B_INSTANTS - 1, "confirmed": 1, "failures": 0}
    assert name_b not in receiver.arrivals  # found whole: not sent again
    assert receiver.arrivals[name_a] == 1  # found cut: sent again, once
    assert decode_file(name_a, (receiver.root / name_a).read_bytes()).time == START
    assert set(receiver.arrivals.values()) == {1}


def test_once_with_the_receiver_down_exits_with_status_1(setup: Setup, receiver: Receiver) -> None:
    receiver.stop()
    process = forward(setup, "--to", f"ftp://centre@127.0.0.1:{receiver.port}/", "--once")
    process.start()
    assert process.process is not None
    assert process.process.wait(timeout=60) == 1
    last = json.loads(process.log.read_text().strip().splitlines()[-1])
    assert last == {"sent": 0, "confirmed": 0, "failures": 1}
    assert count(setup.url, "SELECT count(*) FROM forward_state WHERE last_error IS NOT NULL") == 2
