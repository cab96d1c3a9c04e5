"""The FTP inbox against a real FTP client (ftplib): every case of issue 13, with exact counts.

One ``aquawatch ftp`` process and database serve the module; each test uses sampling instants of
its own, so the counts it checks are its own.
"""

from __future__ import annotations

import ftplib
import socket
import struct
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from stations import credentials, load_registry, sync_registry
from telemetry import Circular10File, Circular10Line, encode_file, migrate
from tests.support.common import wait_for
from tests.support.ftp import (
    InboxProcess,
    client,
    inbox_process,
    registry_file,
    self_signed,
    store,
    store_cut,
)
from tests.support.network import free_port
from tests.support.postgres import PostgresServer, count

pytestmark = pytest.mark.integration

MAX_FILE = 4096
MAX_UPLOAD = 16_384


@dataclass
class Inbox:
    url: str
    spool: Path
    port: int
    secrets: dict[str, str]
    pem: Path
    process: InboxProcess


@pytest.fixture(scope="module")
def inbox(postgres: PostgresServer) -> Iterator[Inbox]:
    folder = Path(tempfile.mkdtemp(prefix="aw-ftp-"))
    stations = registry_file(folder)
    pem = self_signed(folder)
    with postgres.database() as url:
        migrate(url)
        with psycopg.connect(url) as conn:
            sync_registry(conn, load_registry(stations), deactivate_missing=True)
            secrets = {s: credentials.issue(conn, s) for s in ("ST-A", "ST-B")}
            conn.commit()
        port = free_port()
        process = inbox_process(
            database_url=url,
            spool=folder / "spool",
            stations_file=stations,
            port=port,
            max_file_bytes=str(MAX_FILE),
            ftp_max_upload_bytes=str(MAX_UPLOAD),
            ftp_certfile=str(pem),
            ftp_login_failure_delay_s="0.1",
        )
        process.start()
        try:
            yield Inbox(url, folder / "spool", port, secrets, pem, process)
        finally:
            process.close()


_next = iter(range(10_000))


def instant() -> datetime:
    """A sampling instant no other test uses (5-minute steps from a fixed day)."""
    return datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=5 * next(_next))


def circular(code: str, at: datetime, **values: float) -> tuple[str, bytes]:
    lines = tuple(Circular10Line(k, v) for k, v in (values or {"do": 5.1, "ph": 7.8}).items())
    return encode_file(Circular10File(code, at, lines))


def readings(url: str, station: str, at: datetime) -> list[tuple[str, float, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT p.code, r.value, r.device_status FROM readings r"
            " JOIN parameters p ON p.id = r.parameter_id"
            " WHERE r.station_id = %s AND r.time = %s ORDER BY p.code",
            (station, at),
        ).fetchall()
    return [(str(c), float(v), int(s)) for c, v, s in rows]


def rejects(url: str, name: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT reason, topic FROM rejects WHERE topic LIKE %s ORDER BY id", (f"%{name}",)
        ).fetchall()
    return [(str(r), str(t)) for r, t in rows]


def settled(inbox: Inbox) -> None:
    """Wait until nothing is waiting in ready/."""
    wait_for(
        lambda: not any(p.is_file() for p in (inbox.spool / "ready").rglob("*")),
        timeout=20,
        what="the inbox to take every file",
    )


def quarantined(inbox: Inbox, station: str, name: str) -> list[str]:
    folder = inbox.spool / "quarantine" / station
    return [p.read_text() for p in folder.glob(f"{name}~*.reason")] if folder.exists() else []


def test_a_file_is_stored_archived_and_gone_from_the_folder(inbox: Inbox) -> None:
    at = instant()
    name, content = encode_file(
        Circular10File(
            "ST-A",
            at,
            (
                Circular10Line("do", 4.25),
                Circular10Line("ph", 7.9, 1),
                Circular10Line("sal", 12.0, 2),
            ),
        )
    )
    with client(inbox.port, "ST-A", inbox.secrets["ST-A"]) as ftp:
        assert store(ftp, name, content).startswith("226")
        settled(inbox)
        assert name not in ftp.nlst()
    expected = [("do", 4.25, 0), ("ph", 7.9, 1), ("sal", 12.0, 2)]
    assert readings(inbox.url, "ST-A", at) == expected
    assert name.endswith(f"_{(at + timedelta(hours=7)).strftime('%Y%m%d%H%M%S')}.txt")  # local
    day = (at + timedelta(hours=7)).strftime("%Y/%m/%d")
    assert (inbox.spool / "archive" / "ST-A" / day / name).read_bytes() == content


def test_files_in_dated_folders_and_under_the_station_file_code(inbox: Inbox) -> None:
    at = instant()
    name, content = circular("AG_KCN_STB", at, cod=42.0, flow=80.5)
    with client(inbox.port, "ST-B", inbox.secrets["ST-B"]) as ftp:
        folder = (at + timedelta(hours=7)).strftime("%Y/%m/%d")
        path = ""
        for part in folder.split("/"):
            path = f"{path}/{part}"
            ftp.mkd(path)
        ftp.cwd(folder)
        assert store(ftp, name, content).startswith("226")
    wait_for(lambda: readings(inbox.url, "ST-B", at), timeout=10, what="the readings")
    assert readings(inbox.url, "ST-B", at) == [("cod", 42.0, 0), ("flow", 80.5, 0)]


def test_a_file_uploaded_twice_stores_nothing_twice(inbox: Inbox) -> None:
    at = instant()
    name, content = circular("ST-A", at)
    with client(inbox.port, "ST-A", inbox.secrets["ST-A"]) as ftp:
        store(ftp, name, content)
        settled(inbox)
        store(ftp, name, content)
        settled(inbox)
    assert len(readings(inbox.url, "ST-A", at)) == 2
    with psycopg.connect(inbox.url) as conn:
        ledger = conn.execute(
            "SELECT count(*) FROM inbox_files WHERE name = %s", (name,)
        ).fetchone()
    assert ledger == (1,)
    assert rejects(inbox.url, name) == []


@pytest.mark.parametrize(
    ("content", "ascii_mode"),
    [
        ("DO\t5.5\tmg/L\t{t}\t00\r\npH\t7.7\t\t{t}\t00\r\n", False),
        ("DO\t5.5\tmg/L\t{t}\t00\r\npH\t7.7\t\t{t}\t00\r\n", True),
        ("\ufeffDO\t5.5\tmg/L\t{t}\t00\npH\t7.7\t\t{t}\t00", False),
    ],
    ids=["crlf-binary", "crlf-ascii", "bom-lf"],
)
def test_line_ends_and_a_byte_order_mark(inbox: Inbox, content: str, ascii_mode: bool) -> None:
    at = instant()
    stamp = (at + timedelta(hours=7)).strftime("%Y%m%d%H%M%S")
    with client(inbox.port, "ST-A", inbox.secrets["ST-A"]) as ftp:
        store(ftp, f"ST-A_{stamp}.txt", content.format(t=stamp).encode(), ascii_mode=ascii_mode)
    wait_for(lambda: readings(inbox.url, "ST-A", at), timeout=10, what="the readings")
    assert readings(inbox.url, "ST-A", at) == [("do", 5.5, 0), ("ph", 7.7, 0)]


@pytest.mark.parametrize(
    ("station", "make", "reason"),
    [
        ("ST-A", lambda t: (f"ST-A_{t}.txt", b""), "empty_batch"),
        (
            "ST-A",
            lambda t: (f"ST-A_{t}.txt", f"XYZ\t1\t\t{t}\t00\r\n".encode()),
            "unknown_parameter",
        ),
        ("ST-A", lambda t: (f"ST-A_{t}.txt", f"DO\t1\t\t{t}\t03\r\n".encode()), "bad_status"),
        ("ST-A", lambda t: (f"ST-A_{t}.txt", f"DO\tx\t\t{t}\t00\r\n".encode()), "bad_schema"),
        ("ST-A", lambda t: (f"ST-A_{t}.txt", b"\xff\xfe"), "not_utf8"),
        ("ST-A", lambda t: (f"ST-B_{t}.txt", f"DO\t1\t\t{t}\t00\r\n".encode()), "station_mismatch"),
        (
            "ST-B",
            lambda t: (f"ST-B_{t}.txt", f"COD\t1\t\t{t}\t00\r\n".encode()),
            "station_mismatch",
        ),
        ("ST-A", lambda t: (f"ST-A_{t}.csv", f"DO\t1\t\t{t}\t00\r\n".encode()), "bad_file_name"),
        (
            "ST-A",
            lambda t: (f"ST-A_{t}.txt", b"DO\t1\t\t" + t.encode() + b"\t00\r\n" * 2000),
            "payload_too_large",
        ),
    ],
    ids=[
        "empty",
        "unknown-symbol",
        "status-03",
        "not-a-number",
        "not-utf8",
        "other-station",
        "id-not-file-code",
        "bad-name",
        "oversized",
    ],
)
def test_a_bad_file_is_quarantined_with_its_reason_and_the_next_one_is_taken(
    inbox: Inbox, station: str, make: object, reason: str
) -> None:
    at = instant()
    stamp = (at + timedelta(hours=7)).strftime("%Y%m%d%H%M%S")
    name, content = make(stamp)  # type: ignore[operator]
    good_at = instant()
    code = "AG_KCN_STB" if station == "ST-B" else "ST-A"
    good_name, good = circular(code, good_at, ph=7.1)
    with client(inbox.port, station, inbox.secrets[station]) as ftp:
        assert store(ftp, name, content).startswith("226")
        assert store(ftp, good_name, good).startswith("226")
    settled(inbox)
    assert rejects(inbox.url, name) == [(reason, f"file:{station}/{name}")]
    [why] = quarantined(inbox, station, name)
    assert why.startswith(f"{name}\n{reason}: ")
    assert readings(inbox.url, station, good_at) == [("ph", 7.1, 0)]


def test_a_file_dated_in_the_future_is_rejected(inbox: Inbox) -> None:
    future = datetime.now(UTC) + timedelta(hours=2)
    name, content = circular("ST-A", future.replace(microsecond=0))
    with client(inbox.port, "ST-A", inbox.secrets["ST-A"]) as ftp:
        store(ftp, name, content)
    settled(inbox)
    assert rejects(inbox.url, name) == [("future_timestamp", f"file:ST-A/{name}")]


def test_an_upload_past_the_cap_is_cut_off_and_dropped(inbox: Inbox) -> None:
    at = instant()
    name, _ = circular("ST-A", at)
    with client(inbox.port, "ST-A", inbox.secrets["ST-A"]) as ftp:
        with pytest.raises(ftplib.error_perm, match="552"):
            store(ftp, name, b"x" * (MAX_UPLOAD * 4))
        assert name not in ftp.nlst()
    assert rejects(inbox.url, name) == []


def test_a_cut_upload_is_not_taken_and_its_retry_is(inbox: Inbox) -> None:
    at = instant()
    name, content = circular("ST-A", at, do=1.0, ph=2.0, sal=3.0, temp=4.0)
    with client(inbox.port, "ST-A", inbox.secrets["ST-A"]) as ftp:
        assert not store_cut(ftp, name, content).startswith("226")
    with client(inbox.port, "ST-A", inbox.secrets["ST-A"]) as ftp:
        assert name in ftp.nlst()  # left where it was, not taken
        settled(inbox)
        assert readings(inbox.url, "ST-A", at) == []
        store(ftp, name, content)
    wait_for(lambda: len(readings(inbox.url, "ST-A", at)) == 4, timeout=10, what="4 readings")


def test_a_temporary_name_is_taken_only_when_renamed(inbox: Inbox) -> None:
    at = instant()
    name, content = circular("ST-A", at)
    with client(inbox.port, "ST-A", inbox.secrets["ST-A"]) as ftp:
        store(ftp, f"{name}.tmp", content)
        settled(inbox)
        assert f"{name}.tmp" in ftp.nlst()
        assert readings(inbox.url, "ST-A", at) == []
        ftp.rename(f"{name}.tmp", name)
    wait_for(lambda: readings(inbox.url, "ST-A", at), timeout=10, what="the readings")


def test_path_tricks_stay_in_the_station_folder(inbox: Inbox) -> None:
    at = instant()
    name, content = circular("ST-B", at)
    with client(inbox.port, "ST-A", inbox.secrets["ST-A"]) as ftp:
        ftp.cwd("/../..")
        assert ftp.pwd() == "/"
        for target in (f"../ST-B/{name}", f"/../../ST-B/{name}"):  # no such folder of A's
            with pytest.raises(ftplib.error_perm, match="550"):
                store(ftp, target, content)
        store(ftp, f"x\\..\\ST-B\\{name}", content)  # backslashes: a name in A's folder
        with pytest.raises(ftplib.error_perm):
            ftp.cwd("../ST-B/..//../incoming/ST-B")
    settled(inbox)
    assert not any((inbox.spool / "incoming" / "ST-B").rglob(f"*{name}*"))
    assert readings(inbox.url, "ST-B", at) == []
    assert rejects(inbox.url, name) == [("bad_file_name", f"file:ST-A/x\\..\\ST-B\\{name}")]


@pytest.mark.parametrize(
    ("user", "secret"),
    [("ST-A", "wrong"), ("ST-B", None), ("NO-SUCH", "x"), ("../ST-A", None)],
)
def test_a_station_logs_in_only_with_its_own_secret(
    inbox: Inbox, user: str, secret: str | None
) -> None:
    password = secret if secret is not None else inbox.secrets["ST-A"]
    with pytest.raises(ftplib.error_perm, match="530"), client(inbox.port, user, password):
        pass


def test_a_revoked_station_cannot_log_in(inbox: Inbox) -> None:
    with psycopg.connect(inbox.url) as conn:
        secret = credentials.issue(conn, "ST-A")
        conn.commit()
    try:
        with (
            pytest.raises(ftplib.error_perm, match="530"),
            client(inbox.port, "ST-A", inbox.secrets["ST-A"]),  # rotated away
        ):
            pass
    finally:
        inbox.secrets["ST-A"] = secret


@pytest.mark.parametrize(
    ("ending", "taken"),
    [("close_notify", True), ("fin_without_close_notify", True), ("reset", False)],
)
def test_ftps_uploads_end_with_or_without_close_notify_and_a_reset_is_not_taken(
    inbox: Inbox, ending: str, taken: bool
) -> None:
    at = instant()
    name, content = circular("ST-A", at)
    with client(inbox.port, "ST-A", inbox.secrets["ST-A"], tls=inbox.pem) as ftp:
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd(f"STOR {name}")
        conn.sendall(content if taken else content[:20])
        if ending == "close_notify":
            conn = conn.unwrap()  # type: ignore[attr-defined]
        elif ending == "reset":
            time.sleep(0.3)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        reply = ftp.getresp() if taken else ftp.getmultiline()
    assert reply.startswith("226" if taken else "426")
    settled(inbox)
    assert len(readings(inbox.url, "ST-A", at)) == (2 if taken else 0)


def test_a_logger_backlog_uploaded_at_once_in_dated_folders(inbox: Inbox) -> None:
    """Five days of five-minute files in one session (bench.ftp sends the full 60 days)."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    files = [
        (at, *circular("AG_KCN_STB", at, cod=30.0 + i % 9, flow=70.5))
        for i in range(1_440)
        for at in [start + timedelta(minutes=5 * i)]
    ]
    with client(inbox.port, "ST-B", inbox.secrets["ST-B"]) as ftp:
        made: set[str] = set()
        for at, name, content in files:
            folder = (at + timedelta(hours=7)).strftime("%Y/%m/%d")
            if folder not in made:
                for depth in range(1, 4):
                    path = "/" + "/".join(folder.split("/")[:depth])
                    if path not in made:
                        ftp.mkd(path)
                        made.add(path)
                made.add(folder)
            assert store(ftp, f"/{folder}/{name}", content).startswith("226")
    query = (
        "SELECT count(*) FROM readings WHERE station_id = 'ST-B'"
        f" AND time >= '{start.isoformat()}' AND time < '{(start + timedelta(days=5)).isoformat()}'"
    )
    wait_for(lambda: count(inbox.url, query) == 1_440 * 2, timeout=60, what="every reading")
    settled(inbox)
    archived = list((inbox.spool / "archive" / "ST-B" / "2025").rglob("*.txt"))
    assert len(archived) == 1_440
    assert not any(p.is_file() for p in (inbox.spool / "incoming" / "ST-B" / "2025").rglob("*"))
