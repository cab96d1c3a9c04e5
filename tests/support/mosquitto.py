"""A private Mosquitto with the shipped configuration, and a plain QoS 1 publisher."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from tests.support.common import unavailable, wait_for
from tests.support.network import free_port


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
