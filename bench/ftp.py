"""Circular 10 files benchmark: a 60-day logger backlog through the FTP inbox, and forwarding.

Run ``python -m bench.ftp`` (options: ``--help``). On a fresh database on ``--database-url``'s
server (dropped at the end) it measures:

(a) raw COPY of the backlog's rows into ``readings`` (10,000 rows a transaction), the ceiling;
(b) ``aquawatch ftp``: one station's 60 days of five-minute files (17,280) uploaded at once in
    one FTP session, from the first upload until every reading is committed and every file
    archived, in files/s and readings/s;
(b2) ``aquawatch files --watch``: the same backlog already lying in a folder another FTP daemon
    wrote (the inbox's own pace, without FTP's data connection per file), until all committed;
(c) ``aquawatch forward --once`` of the same readings to a local FTP receiver (pyftpdlib), one
    file per instant, in files/s.
"""

from __future__ import annotations

import argparse
import ftplib
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from bench.database import bench_database
from bench.ingest import VALUES
from stations import credentials, load_registry, sync_registry
from telemetry import PARAMETERS, Circular10File, Circular10Line, encode_file, migrate
from tests.support.network import free_port

STATION = "KG-SR-01"
START = datetime(2026, 1, 1, tzinfo=UTC)


def backlog(n: int) -> list[tuple[str, bytes]]:
    """``n`` five-minute files of one station, oldest first (60 days = 17,280)."""
    return [
        encode_file(
            Circular10File(
                STATION,
                START + timedelta(minutes=5 * i),
                tuple(Circular10Line(code, value + i % 13 / 100) for code, value in VALUES.items()),
            )
        )
        for i in range(n)
    ]


def scalar(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0


def raw_copy(url: str, n: int) -> float:
    """(a) the same rows by COPY into readings, 10,000 a transaction; return the seconds."""
    ids = [PARAMETERS[code].id for code in VALUES]
    rows = [
        (START + timedelta(minutes=5 * i), STATION, pid, value + i % 13 / 100, 0)
        for i in range(n)
        for pid, value in zip(ids, VALUES.values(), strict=True)
    ]
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for first in range(0, len(rows), 10_000):
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY readings (time, station_id, parameter_id, value, device_status)"
                    " FROM STDIN"
                ) as copy,
            ):
                for row in rows[first : first + 10_000]:
                    copy.write_row(row)
            conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("TRUNCATE readings")
        conn.commit()
    return elapsed


def inbox(
    url: str, files: list[tuple[str, bytes]], secret: str, spool: Path
) -> tuple[float, float]:
    """(b) upload the backlog in one session; return (upload seconds, until-committed seconds)."""
    port = free_port()
    env = {
        **os.environ,
        "AQUAWATCH_DATABASE_URL": url,
        "AQUAWATCH_SPOOL_DIR": str(spool),
        "AQUAWATCH_FTP_PORT": str(port),
        "AQUAWATCH_POLL_INTERVAL_S": "0.2",
    }
    log = spool.parent / "ftp.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "telemetry.cli", "--log-level", "WARNING", "ftp"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    sys.exit(f"aquawatch ftp did not start:\n{log.read_text()}")
                time.sleep(0.1)
        ftp = ftplib.FTP(timeout=30)
        ftp.connect("127.0.0.1", port)
        ftp.login(STATION, secret)
        ftp.voidcmd("TYPE I")
        started = time.perf_counter()
        for name, content in files:
            with ftp.transfercmd(f"STOR {name}") as conn:
                conn.sendall(content)
            ftp.voidresp()
        uploaded = time.perf_counter() - started
        ftp.quit()
        want = len(files)
        while scalar(url, "SELECT count(*) FROM inbox_files") < want or any(
            p.is_file() for p in (spool / "ready").rglob("*")
        ):
            time.sleep(0.05)
        done = time.perf_counter() - started
        stored = scalar(url, "SELECT count(*) FROM readings")
        if stored != want * len(VALUES):
            sys.exit(f"expected {want * len(VALUES)} readings, found {stored}")
    finally:
        process.terminate()
        process.wait(timeout=60)
    return uploaded, done


def watched(url: str, files: list[tuple[str, bytes]], folder: Path) -> float:
    """(b2) the backlog already in a watched folder; return the seconds until all committed."""
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE readings, inbox_files")
    station = folder / "daemon" / STATION
    station.mkdir(parents=True)
    for name, content in files:
        (station / name).write_bytes(content)
    env = {
        **os.environ,
        "AQUAWATCH_DATABASE_URL": url,
        "AQUAWATCH_SPOOL_DIR": str(folder / "spool"),
        "AQUAWATCH_POLL_INTERVAL_S": "0.2",
        "AQUAWATCH_SETTLE_S": "0",
    }
    log = folder / "files.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "telemetry.cli", "--log-level", "INFO", "files"),
                *("--watch", str(folder / "daemon")),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        while "taking files from" not in log.read_text():  # started: migrated, registry synced
            if process.poll() is not None:
                sys.exit(f"aquawatch files did not start:\n{log.read_text()}")
            time.sleep(0.01)
        started = time.perf_counter()
        while any(station.iterdir()):
            if process.poll() is not None:
                sys.exit("aquawatch files stopped")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=60)
    stored = scalar(url, "SELECT count(*) FROM readings")
    if stored != len(files) * len(VALUES):
        sys.exit(f"expected {len(files) * len(VALUES)} readings, found {stored}")
    return elapsed


def receiver(root: Path) -> tuple[int, threading.Event]:
    """A local FTP receiver (pyftpdlib) in a thread; return its port and its stop event."""
    authorizer = DummyAuthorizer()
    authorizer.add_user("centre", "bench-upstream", str(root), perm="elradfmw")
    handler = type("Receiver", (FTPHandler,), {"authorizer": authorizer})
    port = free_port()
    server = FTPServer(("127.0.0.1", port), handler, ioloop=IOLoop())
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            server.ioloop.loop(timeout=0.1, blocking=False)
        server.close_all()

    threading.Thread(target=serve, name="receiver", daemon=True).start()
    return port, stop


def forward(url: str, root: Path) -> tuple[float, int]:
    """(c) forward every instant once to the receiver; return (seconds, files sent)."""
    root.mkdir(parents=True, exist_ok=True)
    port, stop = receiver(root)
    env = {
        **os.environ,
        "AQUAWATCH_DATABASE_URL": url,
        "AQUAWATCH_FORWARD_PASSWORD": "bench-upstream",
        "AQUAWATCH_FORWARD_SINCE_H": "1000000",
        "AQUAWATCH_FORWARD_BATCH_FILES": "1000",
    }
    try:
        started = time.perf_counter()
        done = subprocess.run(
            [
                *(sys.executable, "-m", "telemetry.cli", "--log-level", "WARNING", "forward"),
                *("--to", f"ftp://centre@127.0.0.1:{port}/ministry", "--once"),
            ],
            env=env,
            capture_output=True,
            check=True,
        )
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
    sent = int(json.loads(done.stdout.decode().strip().splitlines()[-1])["sent"])
    return elapsed, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=17_280, help="backlog (60 days: 17,280)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("AQUAWATCH_DATABASE_URL", "postgresql://localhost/postgres"),
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)  # else pyftpdlib logs every file at INFO
    files = backlog(args.files)
    readings = args.files * len(VALUES)
    folder = Path(tempfile.mkdtemp(prefix="bench-ftp-"))
    with bench_database(args.database_url) as url:
        migrate(url)
        with psycopg.connect(url) as conn:
            sync_registry(conn, load_registry(), deactivate_missing=True)
            secret = credentials.issue(conn, STATION)
        print(f"{args.files:,} files of {len(VALUES)} readings, station {STATION}", flush=True)
        copy_s = raw_copy(url, args.files)
        print(f"  (a) raw COPY: {readings / copy_s:,.0f} readings/s", flush=True)
        upload_s, inbox_s = inbox(url, files, secret, folder / "spool")
        print(f"  (b) FTP inbox: {args.files / inbox_s:,.0f} files/s end to end", flush=True)
        watch_s = watched(url, files, folder / "watch")
        print(f"  (b2) watched folder: {args.files / watch_s:,.0f} files/s", flush=True)
        forward_s, sent = forward(url, folder / "receiver")
        print(f"  (c) forward: {sent / forward_s:,.0f} files/s", flush=True)
    print()
    print("| what | seconds | files/s | readings/s |")
    print("|---|---:|---:|---:|")
    print(
        f"| (a) raw COPY into readings, 10k rows/tx | {copy_s:.1f} | | {readings / copy_s:,.0f} |"
    )
    print(
        f"| (b) FTP upload of the backlog, one session | {upload_s:.1f}"
        f" | {args.files / upload_s:,.0f} | |"
    )
    print(
        f"| (b) FTP inbox, upload start to all committed and archived | {inbox_s:.1f}"
        f" | {args.files / inbox_s:,.0f} | {readings / inbox_s:,.0f} |"
    )
    print(
        f"| (b2) files --watch, backlog already in the folder, to all committed | {watch_s:.1f}"
        f" | {args.files / watch_s:,.0f} | {readings / watch_s:,.0f} |"
    )
    print(
        f"| (c) forward --once to a local FTP receiver | {forward_s:.1f}"
        f" | {sent / forward_s:,.0f} | {sent * len(VALUES) / forward_s:,.0f} |"
    )
    print()
    print(f"(b)/(a) = {copy_s / inbox_s:.0%} of raw COPY's readings/s (FTP's pace per file)")
    print(f"(b2)/(a) = {copy_s / watch_s:.0%} of raw COPY's readings/s (the inbox's own pace)")


if __name__ == "__main__":
    main()
