"""kill -9 of ``aquawatch ftp`` and ``aquawatch files`` while files stream in: exact counts.

A logger sends each file until the inbox answered ``226`` (a crash before that answer makes it
send the file again). Whatever the moment of the kills, every reading is stored once, every file
is in the ledger once and archived once, and nothing is rejected.
"""

from __future__ import annotations

import ftplib
import os
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from stations import credentials, load_registry, sync_registry
from telemetry import Circular10File, Circular10Line, encode_file, migrate
from tests.support.common import wait_for
from tests.support.ftp import InboxProcess, inbox_process, registry_file, store
from tests.support.network import free_port
from tests.support.postgres import PostgresServer, count

pytestmark = pytest.mark.integration

FILES = 600
START = datetime(2026, 4, 1, tzinfo=UTC)


def backlog(code: str, n: int) -> list[tuple[str, bytes]]:
    """``n`` five-minute files of four parameters, oldest first."""
    return [
        encode_file(
            Circular10File(
                code,
                START + timedelta(minutes=5 * i),
                (
                    Circular10Line("temp", 29.0 + i % 7 / 10),
                    Circular10Line("ph", 7.5),
                    Circular10Line("do", 5.0 + i % 11 / 10),
                    Circular10Line("sal", 15.0),
                ),
            )
        )
        for i in range(n)
    ]


@pytest.fixture
def registered(postgres: PostgresServer) -> Iterator[tuple[str, Path, Path]]:
    folder = Path(tempfile.mkdtemp(prefix="aw-crash-"))
    stations = registry_file(folder)
    with postgres.database() as url:
        migrate(url)
        with psycopg.connect(url) as conn:
            sync_registry(conn, load_registry(stations), deactivate_missing=True)
        yield url, folder, stations


def archived(spool: Path) -> int:
    return sum(1 for p in (spool / "archive").rglob("*") if p.is_file())


def test_kill_9_of_ftp_mid_stream_loses_nothing_and_stores_nothing_twice(
    registered: tuple[str, Path, Path],
) -> None:
    url, folder, stations = registered
    with psycopg.connect(url) as conn:
        secret = credentials.issue(conn, "ST-A")
        conn.commit()
    port = free_port()
    spool = folder / "spool"
    inbox = inbox_process(
        database_url=url, spool=spool, stations_file=stations, port=port, batch_max_files="50"
    )
    inbox.start()
    files = backlog("ST-A", FILES)
    sent = 0
    resent = 0
    done = threading.Event()

    def logger() -> None:  # a Circular 10 logger: a file counts as sent only on 226
        nonlocal sent, resent
        ftp: ftplib.FTP | None = None
        for name, content in files:
            while True:
                try:
                    if ftp is None:
                        ftp = ftplib.FTP(timeout=5)
                        ftp.connect("127.0.0.1", port)
                        ftp.login("ST-A", secret)
                    store(ftp, name, content)
                    break
                except (OSError, EOFError, ftplib.Error):
                    if ftp is not None:
                        ftp.close()
                    ftp = None
                    resent += 1
            sent += 1
        if ftp is not None:
            ftp.close()
        done.set()

    thread = threading.Thread(target=logger)
    thread.start()
    try:
        for at in (100, 250, 450):
            wait_for(lambda at=at: sent >= at, timeout=60, what=f"{at} files sent")  # type: ignore[misc]
            inbox.kill()
            inbox.start()
        assert done.wait(120)
        wait_for(
            lambda: count(url, "SELECT count(*) FROM inbox_files") == FILES,
            timeout=60,
            what="every file in the ledger",
        )
        wait_for(lambda: archived(spool) == FILES, timeout=30, what="every file archived")
    finally:
        thread.join(timeout=10)
        inbox.close()
    assert resent >= 1  # the kills did interrupt uploads
    assert count(url, "SELECT count(*) FROM readings") == FILES * 4
    assert count(url, "SELECT count(DISTINCT time) FROM readings") == FILES
    assert count(url, "SELECT count(*) FROM rejects") == 0
    assert not [p for p in (spool / "ready").rglob("*") if p.is_file()]


def watch_process(url: str, spool: Path, stations: Path, watched: Path) -> InboxProcess:
    return InboxProcess(
        command=("files", "--watch", str(watched)),
        ready="taking files from",
        database_url=url,
        spool_dir=str(spool),
        stations_file=str(stations),
        poll_interval_s="0.1",
        settle_s="0.2",
        batch_max_files="40",
    )


def drop(watched: Path, station: str, name: str, content: bytes) -> None:
    """What another FTP daemon does for a logger that uploads under a temporary name."""
    final = watched / station / name
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f"{final.name}.part")
    temporary.write_bytes(content)
    os.rename(temporary, final)


def test_files_watch_takes_complete_files_and_quarantines_bad_ones(
    registered: tuple[str, Path, Path],
) -> None:
    url, folder, stations = registered
    watched = folder / "daemon"
    watched.mkdir()
    spool = folder / "spool"
    process = watch_process(url, spool, stations, watched)
    process.start()
    try:
        good = backlog("AG_KCN_STB", 3)
        for name, content in good:
            drop(watched, "ST-B", f"2026/04/01/{name}", content)
        (watched / "ST-B" / "still-uploading.txt.part").write_bytes(b"DO\t1")
        drop(watched, "ST-A", "ST-A_20260401073000.txt", b"")
        wait_for(
            lambda: count(url, "SELECT count(*) FROM inbox_files") == 4,
            timeout=20,
            what="4 files taken",
        )
    finally:
        assert process.terminate() == 0
    assert count(url, "SELECT count(*) FROM readings WHERE station_id = 'ST-B'") == 12
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT reason, topic FROM rejects").fetchall() == [
            ("empty_batch", "file:ST-A/ST-A_20260401073000.txt")
        ]
    left = sorted(p.name for p in watched.rglob("*") if p.is_file())
    assert left == ["still-uploading.txt.part"]
    assert archived(spool) == 3
    assert len(list((spool / "quarantine" / "ST-A").glob("*.reason"))) == 1


def test_kill_9_of_files_watch_mid_stream(registered: tuple[str, Path, Path]) -> None:
    url, folder, stations = registered
    watched = folder / "daemon"
    watched.mkdir()
    spool = folder / "spool"
    process = watch_process(url, spool, stations, watched)
    process.start()
    files = backlog("ST-A", 400)
    try:
        for index, (name, content) in enumerate(files):
            drop(watched, "ST-A", name, content)
            if index in (120, 260):
                wait_for(
                    lambda: count(url, "SELECT count(*) FROM inbox_files") > 0,
                    timeout=20,
                    what="the inbox to be taking files",
                )
                process.kill()
                process.start()
        wait_for(
            lambda: count(url, "SELECT count(*) FROM inbox_files") == 400,
            timeout=60,
            what="every file in the ledger",
        )
        wait_for(lambda: archived(spool) == 400, timeout=30, what="every file archived")
    finally:
        process.close()
    assert count(url, "SELECT count(*) FROM readings") == 400 * 4
    assert count(url, "SELECT count(*) FROM rejects") == 0
    assert not [p for p in watched.rglob("*") if p.is_file()]
