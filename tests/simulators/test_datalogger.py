"""Simulated Circular 10 loggers: a file per instant by FTP, held while the link is down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from simulators import FtpLoggers, Outgoing, Script, StationRunner, Tally
from stations import credentials, load_registry, sync_registry
from telemetry import TopicScheme, decode_file, migrate
from tests.support.common import wait_for
from tests.support.ftp import Receiver, inbox_process, registry_file
from tests.support.network import free_port
from tests.support.postgres import PostgresServer, count

pytestmark = pytest.mark.integration

START = datetime.fromisoformat("2026-11-22T00:00:00+07:00").timestamp()


def _runner(stations: Path) -> StationRunner:
    station = load_registry(stations).stations["ST-A"]
    return StationRunner(station, seed=3, script=Script(), topics=TopicScheme("aw"), batch_size=50)


def test_a_logger_holds_its_files_while_the_link_is_down_and_sends_them_in_order(
    tmp_path: Path,
) -> None:
    stations = registry_file(tmp_path)
    root = tmp_path / "inbox"
    root.mkdir()
    receiver = Receiver(root, user="ST-A", secret="pw-a")
    station = load_registry(stations).stations["ST-A"]
    acked: list[Outgoing] = []
    tally = Tally()

    def ack(message: Outgoing) -> None:
        acked.append(message)
        tally.acknowledged(message)

    with FtpLoggers(f"ftp://127.0.0.1:{receiver.port}", [station], {"ST-A": "pw-a"}) as loggers:
        runner = _runner(stations)
        runner.generate(START, START + 3600)
        held = runner.due(START + 1799)  # 00:00 ... 00:25 while the inbox is down
        for message in held:
            loggers.send(message, ack)
        assert acked == []
        assert loggers.unacknowledged == len(held) == 6
        receiver.start()
        try:
            for message in runner.due(START + 3599):  # the link is back: backlog first
                loggers.send(message, ack)
            assert loggers.drain(10)
        finally:
            receiver.stop()
    assert len(acked) == 12
    names = receiver.order
    assert names == sorted(names)
    assert len(names) == len(set(names)) == 12
    first = decode_file(names[0], (root / names[0]).read_bytes())
    assert first.time.timestamp() == START
    assert {line.code for line in first.lines} == {"temp", "ph", "do", "sal"}
    assert tally.readings == 12 * 4


def test_simulate_transport_ftp_into_the_inbox_stores_exactly_what_it_counted(
    postgres: PostgresServer,
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="aw-simftp-"))
    stations = registry_file(folder)
    with postgres.database() as url:
        migrate(url)
        with psycopg.connect(url) as conn:
            sync_registry(conn, load_registry(stations), deactivate_missing=True)
            lines = [f"{s}:{credentials.issue(conn, s)}" for s in ("ST-A", "ST-B")]
            conn.commit()
        secrets = folder / "secrets.txt"
        secrets.write_text("\n".join(lines) + "\n")
        port = free_port()
        inbox = inbox_process(
            database_url=url, spool=folder / "spool", stations_file=stations, port=port
        )
        inbox.start()
        try:
            env = {
                **os.environ,
                "AQUAWATCH_STATIONS_FILE": str(stations),
                "AQUAWATCH_CREDENTIALS_FILE": str(secrets),
                "AQUAWATCH_FTP_URL": f"ftp://127.0.0.1:{port}",
            }
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "telemetry.cli",
                    "--log-level",
                    "WARNING",
                    "simulate",
                    "--transport",
                    "ftp",
                    "--fast",
                    "--start",
                    "2026-11-22T00:00+07:00",
                    "--duration",
                    "3h",
                ],
                env=env,
                capture_output=True,
                timeout=120,
                check=True,
            )
            summary = json.loads(done.stdout.decode().strip().splitlines()[-1])
            assert summary["unacknowledged"] == 0
            assert summary["samples"] == 2 * 36
            wait_for(
                lambda: count(url, "SELECT count(*) FROM readings") == summary["readings"],
                timeout=30,
                what="every simulated reading stored",
            )
        finally:
            inbox.close()
        assert count(url, "SELECT count(*) FROM rejects") == 0
