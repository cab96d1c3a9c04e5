"""FTP for tests: the inbox as a real subprocess, a plain pyftpdlib receiver, an ftplib client."""

from __future__ import annotations

import ftplib
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from ingest.certificates import make_tls_files
from tests.support.common import wait_for
from tests.support.network import free_port

REGISTRY = """\
stations:
  - id: ST-A
    kind: shrimp_river
    name_vi: Trạm A
    name_en: Station A
    district: An Biên
    province: An Giang
    former_province: Kiên Giang
    latitude: 9.8
    longitude: 105.0
    parameters: [temp, ph, do, sal]
    sampling_interval_s: 300
    transport: ftp
  - id: ST-B
    kind: effluent
    name_vi: Trạm B
    name_en: Station B
    district: Châu Thành
    latitude: 10.0
    longitude: 105.1
    parameters: [cod, tss, ph, flow]
    sampling_interval_s: 300
    file_code: AG_KCN_STB
    transport: both
"""


def registry_file(folder: Path) -> Path:
    """Write the two test stations' registry and return its path."""
    path = folder / "stations.yaml"
    path.write_text(REGISTRY, "utf-8")
    return path


def self_signed(folder: Path) -> Path:
    """A certificate for 127.0.0.1 and its key in one PEM file; ``cert.pem`` beside it is the CA."""
    files = make_tls_files(folder / "tls", ["127.0.0.1"], now=datetime.now(UTC))
    pem = folder / "inbox.pem"
    pem.write_text(files.cert.read_text() + files.key.read_text())
    (folder / "cert.pem").write_text(files.ca.read_text())
    return pem


class InboxProcess:
    """``aquawatch ftp`` (or ``aquawatch files --watch``) as a real subprocess."""

    def __init__(self, *, command: tuple[str, ...], ready: str, **settings: str) -> None:
        self.command = command
        self.ready = ready
        self.env = {**os.environ, **{f"AQUAWATCH_{k.upper()}": v for k, v in settings.items()}}
        self.log = Path(tempfile.mkstemp(prefix="aw-files-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it listens (or watches)."""
        offset = self.log.stat().st_size
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "telemetry.cli", *self.command],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            lambda: self.ready in self.log.read_text()[offset:] or self.process.poll() is not None,  # type: ignore[union-attr]
            timeout=60,
            what=f"{self.command[0]} to start",
        )
        if self.process.poll() is not None:
            pytest.fail(f"{self.command[0]} exited early:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        """SIGTERM and wait; return the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def close(self) -> None:
        """Make sure it is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def inbox_process(
    *, database_url: str, spool: Path, stations_file: Path, port: int, **extra: str
) -> InboxProcess:
    """``aquawatch ftp`` on 127.0.0.1:``port`` with small batching and polling."""
    return InboxProcess(
        command=("ftp",),
        ready="FTP inbox listening",
        database_url=database_url,
        spool_dir=str(spool),
        stations_file=str(stations_file),
        ftp_port=str(port),
        poll_interval_s="0.1",
        **extra,
    )


@contextmanager
def client(port: int, user: str, secret: str, *, tls: Path | None = None) -> Iterator[ftplib.FTP]:
    """A logged-in ftplib client (FTPS with the data channel protected when ``tls``)."""
    if tls is not None:
        context = ssl.create_default_context(cafile=str(tls.parent / "cert.pem"))
        ftp: ftplib.FTP = ftplib.FTP_TLS(context=context, timeout=10)
    else:
        ftp = ftplib.FTP(timeout=10)
    ftp.connect("127.0.0.1", port)
    try:
        ftp.login(user, secret)
        if isinstance(ftp, ftplib.FTP_TLS):
            ftp.prot_p()
        yield ftp
    finally:
        try:
            ftp.quit()
        except (ftplib.Error, OSError):
            ftp.close()


def store(ftp: ftplib.FTP, name: str, content: bytes, *, ascii_mode: bool = False) -> str:
    """STOR ``content`` as ``name`` (binary, or ASCII: CRLF becomes LF); return the reply."""
    ftp.voidcmd("TYPE A" if ascii_mode else "TYPE I")
    with ftp.transfercmd(f"STOR {name}") as conn:
        conn.sendall(content)
    return ftp.voidresp()


def store_cut(ftp: ftplib.FTP, name: str, content: bytes) -> str:
    """Send half of ``content``, then reset the data connection (a logger losing its link)."""
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd(f"STOR {name}")
    conn.sendall(content[: len(content) // 2])
    time.sleep(0.3)  # the link drops mid-transfer, after the server started receiving
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # RST, not FIN: the server sees the transfer fail
    try:
        return ftp.getresp()
    except ftplib.Error as exc:
        return str(exc)


class Receiver:
    """A plain FTP (or FTPS) server, the ministry's receiving system in the forwarding tests.

    Args:
        root: Where uploads land.
        user: The account.
        secret: Its password.
        pem: Certificate and key: FTPS.
    """

    def __init__(self, root: Path, *, user: str, secret: str, pem: Path | None = None) -> None:
        self.root = root
        self.port = free_port()
        authorizer = DummyAuthorizer()
        authorizer.add_user(user, secret, str(root), perm="elradfmw")
        base = TLS_FTPHandler if pem is not None else FTPHandler
        self.arrivals: Counter[str] = Counter()  # final names, each time one appeared
        self.order: list[str] = []  # final names in the order they appeared
        arrivals, order = self.arrivals, self.order

        def ftp_RNTO(handler: Any, path: str) -> Any:  # noqa: N802
            done = base.ftp_RNTO(handler, path)
            if done:
                arrivals[Path(path).name] += 1
                order.append(Path(path).name)
            return done

        def on_file_received(handler: Any, file: str) -> None:
            if not file.endswith(".tmp"):
                arrivals[Path(file).name] += 1
                order.append(Path(file).name)

        attributes: dict[str, object] = {
            "authorizer": authorizer,
            "ftp_RNTO": ftp_RNTO,
            "on_file_received": on_file_received,
        }
        if pem is not None:
            attributes["certfile"] = str(pem)
        self._handler = type("Receiver", (base,), attributes)
        self._server: FTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        """Listen (again) on the same port."""
        self._stop.clear()
        self._server = FTPServer(("127.0.0.1", self.port), self._handler, ioloop=IOLoop())
        server = self._server

        def serve() -> None:
            while not self._stop.is_set():
                server.ioloop.loop(timeout=0.1, blocking=False)
            server.close_all()

        self._thread = threading.Thread(target=serve, name="receiver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and drop every connection (the receiver goes down)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def files(self) -> list[Path]:
        """Every complete file received, in name order (not ``*.tmp`` uploads in progress)."""
        return sorted(p for p in self.root.rglob("*") if p.is_file() and p.suffix != ".tmp")
