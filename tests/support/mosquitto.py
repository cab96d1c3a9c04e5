"""A private Mosquitto with the shipped configuration, and a plain QoS 1 publisher."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from stack import PrivateMosquitto, StackError, mosquitto_binary, shipped_broker_config
from tests.support.common import unavailable
from tests.support.network import free_port


class Broker:
    """A private Mosquitto on a free port: ``aquawatch up``'s own launcher, logging verbosely.

    Stopped and started again, it keeps its port and its sessions (persistence file).
    """

    def __init__(self) -> None:
        if mosquitto_binary() is None:
            unavailable("the mosquitto binary (Debian package mosquitto)")
        self.dir = Path(tempfile.mkdtemp(prefix="aw-broker-"))
        self.dir.chmod(0o755)  # mosquitto drops root and must reach its folder inside
        self._server = PrivateMosquitto(
            self.dir / "mosquitto", shipped_broker_config(), port=free_port(), verbose=True
        )

    @property
    def port(self) -> int:
        """The listener's port."""
        return self._server.port

    @property
    def url(self) -> str:
        """The broker URL for AQUAWATCH_MQTT_URL."""
        return self._server.url

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
