"""A private Mosquitto with the shipped configuration and AquaWatch's access rules, and a
plain QoS 1 publisher."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from ingest import SERVICE_ACCOUNT, Account, BrokerAccess, service_url, shipped_broker_config
from stack import PrivateMosquitto, StackError, mosquitto_binary
from stations import StoredCredential, credentials
from tests.support.common import unavailable
from tests.support.network import free_port


class Broker:
    """A private Mosquitto on a free port: ``aquawatch up``'s own launcher, logging verbosely.

    Its rules are the ones ``aquawatch broker config`` writes: no anonymous client; the
    service account (:attr:`url`) subscribes; a gateway account (:attr:`gateway_url`, what
    :class:`Publisher` uses) publishes as any station; ``stations`` log in as themselves.
    Each test has its own topic prefix, so the rules cover every prefix (``+``).
    Stopped and started again, it keeps its port and its sessions (persistence file).
    """

    def __init__(self, stations: Sequence[StoredCredential] = ()) -> None:
        if mosquitto_binary() is None:
            unavailable("the mosquitto binary (Debian package mosquitto)")
        self.dir = Path(tempfile.mkdtemp(prefix="aw-broker-"))
        self.dir.chmod(0o755)  # mosquitto drops root and must reach its folder inside
        self.service = Account(SERVICE_ACCOUNT, credentials.new_secret())
        self.gateway = Account("gateway-tests", credentials.new_secret())
        access = BrokerAccess(stations, self.service, (self.gateway,), topic_prefix="+")
        self._server = PrivateMosquitto(
            self.dir / "mosquitto",
            shipped_broker_config(),
            port=free_port(),
            access=access,
            verbose=True,
        )

    @property
    def port(self) -> int:
        """The listener's port."""
        return self._server.port

    @property
    def url(self) -> str:
        """AQUAWATCH_MQTT_URL for AquaWatch's own processes (the service account)."""
        return service_url(self.service, host="127.0.0.1", port=self.port)

    @property
    def gateway_url(self) -> str:
        """AQUAWATCH_MQTT_URL for a publisher that may speak for any station."""
        return service_url(self.gateway, host="127.0.0.1", port=self.port)

    @property
    def log(self) -> Path:
        """Everything the broker logged."""
        return self._server.log

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        try:
            self._server.start()
        except StackError as exc:
            pytest.fail(f"{exc}:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        """Stop it gracefully (it saves its persistence file)."""
        self._server.stop()

    def close(self) -> None:
        """Stop it and remove its files."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Publisher:
    """A plain paho QoS 1 publisher, for feeding hand-made messages to the broker.

    It logs in as ``account`` (default: the broker's gateway, which may speak for any
    station) with ``client_id`` (default: paho's random one).
    """

    def __init__(
        self,
        broker: Broker,
        *,
        v5: bool = True,
        account: Account | None = None,
        client_id: str = "",
    ) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

        protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
        login = account or broker.gateway
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol
        )
        self._client.username_pw_set(login.username, login.secret)
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
