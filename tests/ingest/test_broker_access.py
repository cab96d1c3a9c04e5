"""The broker ``aquawatch broker config`` writes: only a station speaks for itself.

Each test generates the configuration with the real command, starts ``mosquitto -c
DIR/mosquitto.conf`` as a deployment would, and tries what an attacker on the same network
would: no login, another station's topics, reading, joining the ingest share group, taking
over another client's session, an old or revoked secret, plain TCP to the TLS listener.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from stack import mosquitto_binary, port_open
from stations import credentials, load_registry, sync_registry
from telemetry import migrate, parse_mqtt_url
from tests.support.common import unavailable, wait_for
from tests.support.network import free_port
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration

NOT_AUTHORIZED = 135
NO_SUBSCRIBERS = 16  # MQTT v5: accepted, nobody subscribed


@dataclass
class Generated:
    """A broker from ``aquawatch broker config``, started as ``mosquitto -c``."""

    folder: Path
    database_url: str
    prefix: str
    port: int
    args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    secrets: dict[str, str] = field(default_factory=dict)

    def issue(self, station: str) -> str:
        with psycopg.connect(self.database_url) as conn:
            self.secrets[station] = credentials.issue(conn, station)
        return self.secrets[station]

    def command(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``aquawatch ARGS`` as an operator would."""
        base = {
            "PATH": "/usr/bin:/bin:/usr/sbin",
            "AQUAWATCH_DATABASE_URL": self.database_url,
            "AQUAWATCH_TOPIC_PREFIX": self.prefix,
        }
        return subprocess.run(
            [sys.executable, "-m", "telemetry.cli", *args],
            env={**base, **env},
            capture_output=True,
            text=True,
            check=False,
        )

    def configure(self) -> None:
        """Run ``aquawatch broker config``."""
        result = self.command(
            "broker", "config", "--out", str(self.folder), "--port", str(self.port), *self.args
        )
        assert result.returncode == 0, result.stderr
        for secret in self.secrets.values():  # the command never shows a secret
            assert secret not in result.stdout + result.stderr

    def env_value(self, name: str, variable: str) -> str:
        """A variable from one of the ``.env`` files ``broker config`` wrote."""
        for line in (self.folder / name).read_text().splitlines():
            if line.startswith(f"{variable}="):
                return line.partition("=")[2]
        raise AssertionError(f"{name} has no {variable}")

    def start(self) -> None:
        binary = mosquitto_binary()
        assert binary is not None
        with (self.folder / "broker.log").open("ab") as log:
            self.process = subprocess.Popen(
                [binary, "-c", str(self.folder / "mosquitto.conf")], stdout=log, stderr=log
            )
        wait_for(lambda: port_open("127.0.0.1", self.port), timeout=10, what="the broker")

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None

    @property
    def service_url(self) -> str:
        return self.env_value("service.env", "AQUAWATCH_MQTT_URL")

    def topic(self, station: str, channel: str = "readings") -> str:
        return f"{self.prefix}/v1/{station}/{channel}"


@pytest.fixture
def generated(postgres: PostgresServer, prefix: str) -> Iterator[Generated]:
    if mosquitto_binary() is None:
        unavailable("the mosquitto binary (Debian package mosquitto)")
    folder = Path(tempfile.mkdtemp(prefix="aw-broker-config-"))
    folder.chmod(0o755)  # mosquitto drops root and must reach its files inside
    with postgres.database() as url:
        migrate(url)
        with psycopg.connect(url) as conn:
            sync_registry(conn, load_registry(), deactivate_missing=True)
        broker = Generated(folder / "broker", url, prefix, free_port())
        try:
            yield broker
        finally:
            broker.stop()
            shutil.rmtree(folder, ignore_errors=True)


class Client:
    """A paho MQTT v5 client that records what the broker answered."""

    def __init__(
        self,
        port: int,
        *,
        user: str | None = None,
        secret: str | None = None,
        client_id: str = "",
        clean: bool = True,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        if user is not None:
            self.client.username_pw_set(user, secret)
        if tls is not None:
            self.client.tls_set_context(tls)
        self.connack: ReasonCode | None = None
        self.connected = threading.Event()
        self.granted: list[int] = []
        self.subscribed = threading.Event()
        self.received: list[bytes] = []
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = lambda c, u, m: self.received.append(bytes(m.payload))
        properties = Properties(1)  # CONNECT
        properties.SessionExpiryInterval = 0 if clean else 3600
        self.client.connect("127.0.0.1", port, clean_start=clean, properties=properties)
        self.client.loop_start()
        self.connected.wait(10)

    def _on_connect(
        self, client: Any, userdata: Any, flags: Any, reason: ReasonCode, p: Any
    ) -> None:
        self.connack = reason
        self.connected.set()

    def _on_subscribe(
        self, client: Any, userdata: Any, mid: int, reasons: list[ReasonCode], p: Any
    ) -> None:
        self.granted = [r.value for r in reasons]
        self.subscribed.set()

    @property
    def accepted(self) -> bool:
        return self.connack is not None and not self.connack.is_failure

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Publish at QoS 1; return the PUBACK's reason code (0 stored, 135 not authorised)."""
        done = threading.Event()
        codes: list[int] = []

        def on_publish(client: Any, userdata: Any, mid: int, reason: ReasonCode, p: Any) -> None:
            codes.append(reason.value)
            done.set()

        self.client.on_publish = on_publish
        self.client.publish(topic, payload, qos=1, retain=retain)
        assert done.wait(10), f"no PUBACK for {topic}"
        return codes[0]

    def subscribe(self, topic: str) -> int:
        """Subscribe at QoS 1; return the SUBACK's reason code (1 granted, 135 refused)."""
        self.subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self.subscribed.wait(10), f"no SUBACK for {topic}"
        return self.granted[0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def service_login(broker: Generated) -> tuple[str, str]:
    endpoint = parse_mqtt_url(broker.service_url)
    assert endpoint.username is not None
    assert endpoint.password is not None
    return endpoint.username, endpoint.password


def test_a_station_publishes_only_its_own_topics_and_reads_nothing(broker_ready: Generated) -> None:
    broker = broker_ready
    anonymous = Client(broker.port)
    assert not anonymous.accepted
    anonymous.close()
    wrong = Client(broker.port, user="KG-SR-01", secret="guess", client_id="KG-SR-01")
    assert not wrong.accepted
    wrong.close()

    user, secret = service_login(broker)
    ingester = Client(broker.port, user=user, secret=secret, client_id="ingest-1")
    assert ingester.subscribe(f"$share/ingest/{broker.prefix}/v1/+/readings") == 1
    assert ingester.subscribe(f"{broker.prefix}/v1/+/status") == 1
    assert ingester.subscribe(f"$share/other/{broker.prefix}/v1/+/readings") == NOT_AUTHORIZED
    # The service account reads; it cannot speak for a station either.
    assert ingester.publish(broker.topic("KG-SR-01"), b"forged") == NOT_AUTHORIZED

    station = Client(
        broker.port, user="KG-SR-01", secret=broker.secrets["KG-SR-01"], client_id="KG-SR-01"
    )
    assert station.accepted
    assert station.publish(broker.topic("KG-SR-01"), b"genuine") == 0
    assert station.publish(broker.topic("KG-SR-02"), b"forged DO") == NOT_AUTHORIZED
    assert station.publish(broker.topic("KG-SR-02", "status"), b"{}", retain=True) == (
        NOT_AUTHORIZED
    )
    assert station.publish(f"{broker.prefix}/v1/KG-SR-01/other", b"x") == NOT_AUTHORIZED
    for topic in (
        "#",
        f"{broker.prefix}/v1/+/readings",
        f"{broker.prefix}/v1/KG-SR-01/readings",
        f"$share/ingest/{broker.prefix}/v1/+/readings",  # the lost-half attack
        "$SYS/#",
    ):
        assert station.subscribe(topic) == NOT_AUTHORIZED, topic
    wait_for(lambda: ingester.received == [b"genuine"], timeout=5, what="the genuine reading")
    station.close()
    ingester.close()


def test_no_client_takes_over_another_clients_session(broker_ready: Generated) -> None:
    broker = broker_ready
    user, secret = service_login(broker)
    ingester = Client(broker.port, user=user, secret=secret, client_id="ingest-1", clean=False)
    assert ingester.subscribe(f"$share/ingest/{broker.prefix}/v1/+/readings") == 1
    ingester.close()  # its session stays, and queues what arrives meanwhile

    station = Client(
        broker.port, user="KG-SR-01", secret=broker.secrets["KG-SR-01"], client_id="KG-SR-01"
    )
    for n in range(5):
        assert station.publish(broker.topic("KG-SR-01"), f"r{n}".encode()) == 0
    # A station's login with the ingester's client id, or with another station's, is refused.
    for client_id in ("ingest-1", "KG-SR-02", ""):
        thief = Client(
            broker.port,
            user="KG-SR-01",
            secret=broker.secrets["KG-SR-01"],
            client_id=client_id,
            clean=True,
        )
        assert not thief.accepted, client_id
        thief.close()
    assert station.connack is not None  # the genuine station was not kicked off
    assert station.publish(broker.topic("KG-SR-01"), b"r5") == 0

    back = Client(broker.port, user=user, secret=secret, client_id="ingest-1", clean=False)
    wait_for(lambda: len(back.received) == 6, timeout=10, what="all six queued readings")
    assert back.received == [f"r{n}".encode() for n in range(6)]
    back.close()
    station.close()


def test_rotation_and_revocation_take_effect_and_the_service_secret_stays(
    broker_ready: Generated,
) -> None:
    broker = broker_ready
    service_before = broker.service_url
    old = broker.secrets["KG-SR-02"]
    new = broker.issue("KG-SR-02")
    broker.configure()
    broker.restart()
    assert broker.service_url == service_before  # AquaWatch's processes need no change

    def logs_in(station: str, secret: str) -> bool:
        client = Client(broker.port, user=station, secret=secret, client_id=station)
        accepted = client.accepted
        client.close()
        return accepted

    assert not logs_in("KG-SR-02", old)
    assert logs_in("KG-SR-02", new)
    with psycopg.connect(broker.database_url) as conn:
        assert credentials.revoke(conn, "KG-SR-01")  # its logger was stolen
    broker.configure()
    broker.restart()
    assert not logs_in("KG-SR-01", broker.secrets["KG-SR-01"])
    assert logs_in("KG-SR-02", new)


def test_with_the_admin_login_issue_and_revoke_change_the_running_broker_at_once(
    broker_ready: Generated,
) -> None:
    broker = broker_ready
    admin = {
        "AQUAWATCH_BROKER_ADMIN_URL": broker.env_value("admin.env", "AQUAWATCH_BROKER_ADMIN_URL")
    }

    def logs_in(station: str, secret: str) -> bool:
        client = Client(broker.port, user=station, secret=secret, client_id=station)
        accepted = client.accepted
        client.close()
        return accepted

    stolen = Client(
        broker.port, user="KG-SR-01", secret=broker.secrets["KG-SR-01"], client_id="KG-SR-01"
    )
    assert stolen.accepted
    revoked = broker.command("stations", "credentials", "revoke", "KG-SR-01", **admin)
    assert revoked.returncode == 0, revoked.stderr
    assert "took it at once" in revoked.stderr
    wait_for(lambda: not stolen.client.is_connected(), timeout=5, what="the thief cut off")
    stolen.close()
    assert not logs_in("KG-SR-01", broker.secrets["KG-SR-01"])

    issued = broker.command("stations", "credentials", "issue", "KG-SR-03", **admin)
    assert issued.returncode == 0, issued.stderr
    secret = issued.stdout.strip().partition(":")[2]
    assert secret not in issued.stderr
    newcomer = Client(broker.port, user="KG-SR-03", secret=secret, client_id="KG-SR-03")
    assert newcomer.accepted  # no configuration rewrite, no restart
    assert newcomer.publish(broker.topic("KG-SR-03"), b"x") == NO_SUBSCRIBERS
    assert newcomer.publish(broker.topic("KG-SR-02"), b"forged") == NOT_AUTHORIZED
    newcomer.close()

    old = broker.secrets["KG-SR-02"]
    rotated = broker.command("stations", "credentials", "issue", "KG-SR-02", **admin)
    assert rotated.returncode == 0, rotated.stderr
    assert not logs_in("KG-SR-02", old)
    # The broker saved the changes: a restart keeps them.
    broker.restart()
    assert not logs_in("KG-SR-01", broker.secrets["KG-SR-01"])
    assert logs_in("KG-SR-03", secret)
    # The admin login changes accounts only: it cannot speak for a station nor read.
    login = parse_mqtt_url(admin["AQUAWATCH_BROKER_ADMIN_URL"])
    operator = Client(broker.port, user=login.username, secret=login.password)
    assert operator.publish(broker.topic("KG-SR-03"), b"forged") == NOT_AUTHORIZED
    assert operator.subscribe("#") == NOT_AUTHORIZED
    operator.close()
    # A wrong admin login: the database changes, the command says the broker did not.
    wrong = f"mqtt://aquawatch-admin:guess@127.0.0.1:{broker.port}"
    refused = broker.command(
        "stations", "credentials", "revoke", "KG-SR-03", AQUAWATCH_BROKER_ADMIN_URL=wrong
    )
    assert refused.returncode == 1
    assert "did not take it" in refused.stderr
    assert "guess" not in refused.stderr


def test_tls_listener_with_the_generated_ca(generated: Generated) -> None:
    broker = generated
    broker.issue("KG-CS-01")
    broker.args = ("--tls", "--hostname", "127.0.0.1")
    broker.configure()
    broker.start()
    endpoint = parse_mqtt_url(broker.service_url)
    assert endpoint.tls
    assert endpoint.ca_file is not None
    station = Client(
        broker.port,
        user="KG-CS-01",
        secret=broker.secrets["KG-CS-01"],
        client_id="KG-CS-01",
        tls=endpoint.ssl_context(),
    )
    assert station.accepted
    assert station.publish(broker.topic("KG-CS-01"), b"over TLS") == NO_SUBSCRIBERS  # accepted
    station.close()
    # Without the CA the broker's certificate is not trusted.
    with (
        socket.create_connection(("127.0.0.1", broker.port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")
    # Plain MQTT to the TLS listener: a CONNECT gets no CONNACK, the connection is closed.
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as raw:
        raw.sendall(bytes.fromhex("101000044d5154540402003c0004") + b"anon")
        try:
            answer = raw.recv(4)
        except (ConnectionResetError, TimeoutError):
            answer = b""
        assert not answer.startswith(b"\x20")  # CONNACK


@pytest.fixture
def broker_ready(generated: Generated) -> Generated:
    """Stations KG-SR-01 and KG-SR-02 issued, the configuration written, the broker up."""
    generated.issue("KG-SR-01")
    generated.issue("KG-SR-02")
    generated.configure()
    generated.start()
    return generated
