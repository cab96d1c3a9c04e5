"""Real services for tests: a private Mosquitto, fresh PostgreSQL databases, ingest processes.

Where a service is missing, tests skip locally and fail under CI (CI=true), so a green CI
always means they ran.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from psycopg import sql
from psycopg.conninfo import make_conninfo

T = TypeVar("T")

IN_CI = os.environ.get("CI", "").lower() == "true"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

# The local times of day that time-dependent tests run at, all of them in every run, so a
# bug that shows only at night fails every CI run rather than the one that starts at 04:57.
LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TIMES_OF_DAY = ("00:30", "04:57", "12:00", "19:30")


def local_time(clock: str, *, day: str = "2026-11-22") -> datetime:
    """An aware instant at ``clock`` (``HH:MM``) in Kiên Giang on ``day``."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=LOCAL_ZONE)


at_times_of_day = pytest.mark.parametrize(
    "now", [local_time(t) for t in TIMES_OF_DAY], ids=TIMES_OF_DAY
)
"""Runs a test once per time of day, with ``now`` the aware instant it runs at."""


def unavailable(message: str) -> NoReturn:
    """Skip locally, fail under CI."""
    if IN_CI:
        pytest.fail(f"required service missing under CI: {message}")
    pytest.skip(message)


def free_port() -> int:
    """Return a TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], T], *, timeout: float, what: str, every: float = 0.05) -> T:
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what} (last: {value!r})")
        time.sleep(every)


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[str]:
    """Run ``app`` (lifespan included) under a real uvicorn on ``port``; yield its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,  # as `aquawatch api` runs it: the app picks trusted proxies
        )
    )
    thread = threading.Thread(target=server.run, name=f"api-{port}", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout=30, what="the API server")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class PostgresServer:
    """A reachable PostgreSQL server where tests may create databases."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    @contextmanager
    def database(self) -> Iterator[str]:
        """Create an empty database for one test and drop it afterwards."""
        name = f"aw_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield make_conninfo(self.admin_url, dbname=name)
        finally:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class PrivateCluster:
    """A throwaway PostgreSQL cluster (trust auth, no fsync) on a free port.

    Tests get their own server whatever the machine's cluster allows; run as root it runs
    as the ``postgres`` system user, since PostgreSQL refuses to run as root.

    Args:
        bindir: The server binaries.
        settings: Extra server settings (``-c name=value``), e.g. shared_preload_libraries.
    """

    def __init__(self, bindir: Path, *, settings: Mapping[str, str] | None = None) -> None:
        self.bindir = bindir
        self.settings = dict(settings or {})
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="aw-pg-"))
        self.data = self.dir / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        """Create and start the cluster; return its admin URL."""
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.dir} -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=200"
        ) + "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "log"),
            "-o",
            options,
            "-w",
            "start",
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """Stop the cluster and remove it."""
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


FAKE_TIMESCALEDB_VERSION = "2.28.3"
FAKE_TIMESCALEDB_SCRIPT = """\
-- A stand-in for TimescaleDB whose library is not preloaded: the real one answers
-- CREATE EXTENSION with FATAL: extension "timescaledb" must be preloaded, and the server
-- closes the connection. Ending its own backend is how SQL alone gets the same: a FATAL
-- (57P01), then a closed connection.
SELECT pg_terminate_backend(pg_backend_pid());
"""


def _pg_config(pg_config: Path, flag: str) -> Path:
    result = subprocess.run([str(pg_config), flag], check=True, capture_output=True, text=True)
    return Path(result.stdout.strip())


def postgres_with_fake_timescaledb(root: Path) -> Path:
    """Copy the machine's PostgreSQL server under ``root`` and give it a fake ``timescaledb``.

    Debian's PostgreSQL finds its share and library directories relative to its own binaries,
    so the copy (``root/usr/lib/postgresql/NN``, ``root/usr/share/postgresql/NN``) is a server
    whose extensions a test may change. It offers ``timescaledb`` (a control file and a script
    that ends its own session the way the real FATAL does), and a ``timescaledb`` library (a
    copy of the harmless ``passwordcheck`` module) for clusters that preload it. ``root`` must
    be readable by the user the clusters run as.

    Returns:
        The copy's bin directory, for :class:`PrivateCluster`.
    """
    bindir = _postgres_bin()
    if bindir is None:
        unavailable("PostgreSQL server binaries (Debian package postgresql)")
    pg_config = bindir / "pg_config"
    if not pg_config.exists():
        unavailable(f"{pg_config} (Debian package postgresql-client)")
    original = {flag: _pg_config(pg_config, flag) for flag in ("--sharedir", "--pkglibdir")}
    for tree in (bindir.parent, original["--sharedir"]):
        shutil.copytree(tree, root / tree.relative_to("/"), symlinks=True)
    copy = root / bindir.relative_to("/")
    for flag, path in original.items():
        found = _pg_config(copy / "pg_config", flag)
        if found != root / path.relative_to("/"):
            unavailable(f"a relocatable PostgreSQL build (the copy's {flag} is {found})")
    extension = root / original["--sharedir"].relative_to("/") / "extension"
    (extension / "timescaledb.control").write_text(
        "comment = 'fake TimescaleDB for AquaWatch tests'\n"
        f"default_version = '{FAKE_TIMESCALEDB_VERSION}'\n"
        "relocatable = false\n"
    )
    (extension / f"timescaledb--{FAKE_TIMESCALEDB_VERSION}.sql").write_text(FAKE_TIMESCALEDB_SCRIPT)
    libdir = root / original["--pkglibdir"].relative_to("/")
    shutil.copy(libdir / "passwordcheck.so", libdir / "timescaledb.so")
    return copy


def find_postgres(cleanup: list[Callable[[], None]]) -> PostgresServer:
    """Return the test server: AQUAWATCH_TEST_ADMIN_URL, else a private cluster.

    Args:
        cleanup: Receives what must run at the end of the session.
    """
    url = os.environ.get("AQUAWATCH_TEST_ADMIN_URL")
    if url is None:
        bindir = _postgres_bin()
        if bindir is None:
            unavailable("PostgreSQL server binaries (Debian package postgresql)")
        cluster = PrivateCluster(bindir)
        cleanup.append(cluster.stop)
        url = cluster.start()
    try:
        with psycopg.connect(url, connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL at {url}: {exc}")
    return PostgresServer(url)


def broker_config_text() -> str:
    """The broker configuration AquaWatch ships."""
    return resources.files("ingest").joinpath("broker/mosquitto.conf").read_text("utf-8")


class Broker:
    """A private Mosquitto running the shipped configuration on a free port."""

    def __init__(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            unavailable("the mosquitto binary (Debian package mosquitto)")
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="aw-broker-"))
        self.dir.chmod(0o777)  # mosquitto drops root and must write its persistence file
        self.config = self.dir / "mosquitto.conf"
        self.config.write_text(
            broker_config_text()
            + f"\nlistener {self.port} 127.0.0.1\nallow_anonymous true\n"
            + f"persistence_location {self.dir}/\n"
        )
        self.config.chmod(0o644)
        self.log = self.dir / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The broker URL for AQUAWATCH_MQTT_URL."""
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-c", str(self.config), "-v"], stdout=log, stderr=log
            )
        wait_for(self._accepts, timeout=10, what=f"mosquitto on port {self.port}")

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Stop it gracefully (it saves its persistence file)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def close(self) -> None:
        """Stop it and remove its files."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class IngestProcess:
    """``aquawatch ingest`` as a real subprocess."""

    def __init__(
        self,
        *,
        database_url: str,
        broker: Broker,
        prefix: str,
        args: tuple[str, ...] = (),
        **settings: str,
    ) -> None:
        self.args = args
        self.metrics_port = free_port()
        self.env = {
            **os.environ,
            "AQUAWATCH_DATABASE_URL": database_url,
            "AQUAWATCH_MQTT_URL": broker.url,
            "AQUAWATCH_TOPIC_PREFIX": prefix,
            "AQUAWATCH_CLIENT_ID": f"ingest-{prefix}",
            "AQUAWATCH_METRICS_PORT": str(self.metrics_port),
            "AQUAWATCH_ROLLUP_INTERVAL_S": "0.5",
            "AQUAWATCH_ROLLUP_SETTLE_S": "0",
            **{f"AQUAWATCH_{k.upper()}": v for k, v in settings.items()},
        }
        self.log = Path(tempfile.mkstemp(prefix="aw-ingest-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the worker and wait until it is connected and subscribed."""
        offset = self.log.stat().st_size
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "telemetry.cli", "ingest", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            lambda: "subscribed to" in self.log.read_text()[offset:] or self._died(),
            timeout=30,
            what="ingest to subscribe",
        )
        if self._died():
            pytest.fail(f"ingest exited early:\n{self.log.read_text()}")

    def _died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def health(self) -> tuple[int, str]:
        """Return the status and body of the worker's /health."""
        url = f"http://127.0.0.1:{self.metrics_port}/health"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metrics(self) -> dict[str, float]:
        """Return the counters and gauges from /metrics, by name with labels."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        """SIGTERM and wait; return the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def close(self) -> None:
        """Make sure the process is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self) -> str:
        """Everything the worker logged."""
        return self.log.read_text()


def count(url: str, query: str) -> int:
    """Run a counting query."""
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
        return int(row[0]) if row else 0


class Publisher:
    """A plain paho QoS 1 publisher, for feeding hand-made messages to the broker."""

    def __init__(self, broker: Broker, *, v5: bool = True) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

        protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
        self._client.connect("127.0.0.1", broker.port)
        self._client.loop_start()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"broker did not acknowledge a publish to {topic}"

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


class TcpProxy:
    """A loopback TCP proxy that can cut the line, to make a server unreachable on demand."""

    def __init__(self, target_port: int) -> None:
        import threading

        self.target_port = target_port
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        """Accept connections again."""
        import threading

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        with self._lock:
            if self._listener is not None:
                # close() alone leaves a thread blocked in accept() accepting one more.
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        import threading

        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    return
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def simulate(broker: Broker, prefix: str, *args: str) -> subprocess.Popen[bytes]:
    """Start ``aquawatch simulate`` against ``broker``; its last stdout line is the summary."""
    env = {**os.environ, "AQUAWATCH_MQTT_URL": broker.url, "AQUAWATCH_TOPIC_PREFIX": prefix}
    return subprocess.Popen(
        [sys.executable, "-m", "telemetry.cli", "--log-level", "WARNING", "simulate", *args],
        env=env,
        stdout=subprocess.PIPE,
    )


def summary(process: subprocess.Popen[bytes], *, timeout: float) -> dict[str, Any]:
    """Wait for a simulator and return its JSON summary (counts, and its start and end)."""
    import json

    out, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"simulate failed: {out!r}"
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


class TimescaleServer:
    """PostgreSQL 17 + TimescaleDB 2.23 built to WASM (PGlite), served over the wire protocol.

    Proves the TimescaleDB DDL and queries; one connection at a time, no COPY FROM STDIN.
    ``tests/run`` installs it from ``tests/timescaledb/package-lock.json``.
    """

    def __init__(self) -> None:
        self.folder = Path(__file__).resolve().parent / "timescaledb"
        node = shutil.which("node")
        installed = self.folder / "node_modules" / "@unni-craftsman" / "pglite"
        if node is None or not installed.exists():
            unavailable("Node.js and `npm ci` in tests/timescaledb (tests/run does both)")
        self.node = str(node)
        self.log = Path(tempfile.mkstemp(prefix="aw-tsdb-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        """Start on a free port; return a URL for psycopg."""
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [self.node, "server.mjs", "0"], cwd=self.folder, stdout=log, stderr=log
            )
        line = wait_for(
            lambda: next(
                (x for x in self.log.read_text().splitlines() if x.startswith("READY")), None
            ) or self.process is None or self.process.poll() is not None,
            timeout=60, what="the TimescaleDB WASM server",
        )  # fmt: skip
        if not isinstance(line, str):
            pytest.fail(f"TimescaleDB WASM server failed:\n{self.log.read_text()}")
        self.url = f"postgresql://postgres:x@127.0.0.1:{line.split()[1]}/postgres?sslmode=disable"
        return self.url

    def stop(self) -> None:
        """Stop the server."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


KANNEL_CONFIG = """\
group = core
admin-port = {admin}
admin-password = {secret}
smsbox-port = {box}
box-allow-ip = 127.0.0.1
store-type = spool
store-location = {dir}/spool
log-level = 1

group = smsc
smsc = fake
smsc-id = fake
port = {carrier}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
log-level = 1

group = sendsms-user
username = aquawatch
password = {secret}
default-smsc = fake
default-sender = AquaWatch
max-messages = 3
concatenation = true

group = sms-service
keyword = default
get-url = "{mo_url}&from=%p&to=%P&text=%a"
max-messages = 0
catch-all = true
"""
_FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
_RECEIVED = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) ?(.*)>$")


def _ucs2(printed: str) -> str:
    """Decode UTF-16 the fake carrier printed URL-encoded (a space as ``+``)."""
    return urllib.parse.unquote_to_bytes(printed.replace("+", " ")).decode("utf-16-be")


@dataclass(frozen=True)
class CarrierSms:
    """A message as the fake carrier received it."""

    sender: str
    to: str
    coding: str
    text: str


class Kannel:
    """Kannel's bearerbox and smsbox with its fake carrier (fakesmsc), on free ports.

    Args:
        mo_url: Where replies go: the API's ``/api/v1/sms/mo?token=...``.
    """

    def __init__(self, *, mo_url: str) -> None:
        if not (shutil.which("bearerbox") or Path("/usr/sbin/bearerbox").exists()):
            unavailable("Kannel (Debian packages kannel, kannel-extras)")
        if not Path(_FAKESMSC).exists():
            unavailable("Kannel's fake carrier (Debian package kannel-extras)")
        self.dir = Path(tempfile.mkdtemp(prefix="aw-kannel-"))
        (self.dir / "spool").mkdir()
        self.ports = {k: free_port() for k in ("admin", "box", "carrier", "sendsms")}
        self.secret = uuid.uuid4().hex
        self.config = self.dir / "kannel.conf"
        self.config.write_text(
            KANNEL_CONFIG.format(dir=self.dir, secret=self.secret, mo_url=mo_url, **self.ports)
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._carrier_logs: list[Path] = []

    @property
    def sms_url(self) -> str:
        """The AQUAWATCH_SMS_URL of this Kannel."""
        return (
            f"kannel://aquawatch:{self.secret}@127.0.0.1:{self.ports['sendsms']}?sender=AquaWatch"
        )

    def _spawn(self, name: str, argv: list[str], log: Path) -> None:
        with log.open("ab") as out:
            self.processes[name] = subprocess.Popen(argv, stdout=out, stderr=out)

    def _listening(self, port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    def start(self) -> None:
        """Start bearerbox, smsbox and the fake carrier; wait until sendsms answers."""
        self._spawn("bearerbox", ["bearerbox", str(self.config)], self.dir / "bearerbox.log")
        wait_for(lambda: self._listening(self.ports["box"]), timeout=20, what="bearerbox")
        self._spawn("smsbox", ["smsbox", str(self.config)], self.dir / "smsbox.log")
        self._carrier()
        wait_for(lambda: self._listening(self.ports["sendsms"]), timeout=20, what="smsbox")
        wait_for(self._carrier_online, timeout=20, what="the fake carrier connected")

    def _carrier_online(self) -> bool:
        status = f"http://127.0.0.1:{self.ports['admin']}/status.txt?password={self.secret}"
        with urllib.request.urlopen(status, timeout=2) as response:
            text: str = response.read().decode()
        return "fake" in text and "online" in text

    def _carrier(self, *messages: str) -> None:
        """(Re)start the fake carrier; it sends ``messages`` (MO) once, then only receives."""
        old = self.processes.pop("fakesmsc", None)
        if old is not None:
            old.terminate()
            old.wait(timeout=10)
        log = self.dir / f"fakesmsc-{len(self._carrier_logs)}.log"
        self._carrier_logs.append(log)
        port = str(self.ports["carrier"])
        argv = ["stdbuf", "-oL", _FAKESMSC, "-H", "127.0.0.1", "-r", port, "-i", "0.1",
                "-m", str(len(messages)), *(messages or ("x y text nop",))]  # fmt: skip
        self._spawn("fakesmsc", argv, log)

    def reply(self, sender: str, text: str) -> None:
        """A phone sends ``text`` to the service (an MO message through the fake carrier)."""
        self._carrier(f"{sender} 8085 text {text}")
        wait_for(
            lambda: "sent message 1" in self._carrier_logs[-1].read_text(errors="replace"),
            timeout=20, what="the fake carrier to send the reply",
        )  # fmt: skip

    def received(self) -> list[CarrierSms]:
        """Every message the fake carrier received, in order; UCS-2 decoded, parts joined.

        The fake carrier prints concatenated parts as ``udh <header> data <payload>`` without
        their coding; AquaWatch sends only UCS-2 messages in several parts.
        """
        found: list[CarrierSms] = []
        parts: dict[tuple[str, int], dict[int, str]] = {}
        for log in self._carrier_logs:
            for line in log.read_text(errors="replace").splitlines():
                match = _RECEIVED.search(line)
                if match is None:
                    continue
                sender, to, coding, data = match.groups()
                if coding == "ucs-2":
                    data = _ucs2(data)
                elif coding == "udh":
                    header, _, payload = data.partition(" data ")
                    ref, total, seq = urllib.parse.unquote_to_bytes(header)[3:6]
                    got = parts.setdefault((to, ref), {})
                    got[seq] = _ucs2(payload)
                    if len(got) < total:
                        continue
                    coding, data = "ucs-2", "".join(got[n] for n in sorted(got))
                    del parts[(to, ref)]
                found.append(CarrierSms(sender, to, coding, data))
        return found

    def close(self) -> None:
        """Stop everything (bounded time) and remove the files."""
        for name in ("fakesmsc", "smsbox", "bearerbox"):
            process = self.processes.pop(name, None)
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
