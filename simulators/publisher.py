"""MQTT publishing with QoS 1, a bounded window of unacknowledged messages, and a will.

With station credentials (``ID:SECRET`` lines, as ``aquawatch stations credentials issue``
prints them), :class:`StationPublishers` connects each station as itself, with its id as
client id and its own will, as a real logger does: the broker lets a station publish only its
own topics. Without them one connection (a gateway account, or an open test broker)
publishes for every station; its will can name only one status topic, so a clean stop
publishes ``offline`` for every station itself.

paho-mqtt fails publishes with ``MQTT_ERR_QUEUE_SIZE`` past 65,535 unacknowledged QoS 1
messages, so :meth:`MqttPublisher.send` blocks while ``max_inflight`` messages await their
PUBACK. Acknowledgements are matched to messages in ``on_publish`` (on paho's network
thread, which only updates counters) even when the PUBACK beats ``publish()`` returning.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from simulators.errors import PublisherError
from simulators.runner import Outgoing
from telemetry import MqttEndpoint

logger = logging.getLogger(__name__)

_UNSUPPORTED_PROTOCOL: Final = 132  # MQTT v5 CONNACK "Unsupported Protocol Version"
_QUEUED: Final = (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)


class MqttPublisher:
    """A paho-mqtt 2.x client publishing QoS 1 with at most ``max_inflight`` unacknowledged.

    Args:
        endpoint: The broker.
        client_id: MQTT client id (unique per connection).
        max_inflight: Most messages awaiting PUBACK before :meth:`send` blocks.
        will: Topic and payload of the retained will message.
        connect_timeout_s: Seconds to wait for CONNACK.
        stall_timeout_s: Seconds :meth:`send` may wait for room before giving up.
        keepalive_s: MQTT keepalive.
    """

    def __init__(
        self,
        endpoint: MqttEndpoint,
        *,
        client_id: str,
        max_inflight: int,
        will: tuple[str, bytes] | None = None,
        connect_timeout_s: float = 10.0,
        stall_timeout_s: float = 60.0,
        keepalive_s: int = 30,
    ) -> None:
        self._endpoint = endpoint
        self._client_id = client_id
        self._max_inflight = max_inflight
        self._will = will
        self._connect_timeout = connect_timeout_s
        self._stall_timeout = stall_timeout_s
        self._keepalive = keepalive_s
        self._room = threading.Condition()
        self._waiting: dict[int, Callable[[], None]] = {}
        self._early: dict[int, ReasonCode] = {}
        self._sending = 0
        self._connack = threading.Event()
        self._connack_reason: ReasonCode | None = None
        self._closed_early = False
        self._client: mqtt.Client | None = None
        self.refused = 0

    def __enter__(self) -> MqttPublisher:
        self.connect()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def connect(self) -> None:
        """Connect with MQTT v5, falling back to 3.1.1 for brokers without v5.

        Raises:
            PublisherError: The broker is unreachable or refuses the connection.
        """
        reason = self._connect(MQTTProtocolVersion.MQTTv5)
        if reason is not None and (reason.value == _UNSUPPORTED_PROTOCOL or self._closed_early):
            logger.info("broker refused MQTT v5 (%s); retrying with MQTT 3.1.1", reason)
            reason = self._connect(MQTTProtocolVersion.MQTTv311)
        if reason is not None:
            msg = f"broker {self._endpoint.display()} refused the connection: {reason}"
            raise PublisherError(msg)
        logger.info("connected to %s as %s", self._endpoint.display(), self._client_id)

    def _connect(self, protocol: MQTTProtocolVersion) -> ReasonCode | None:
        v5 = protocol is MQTTProtocolVersion.MQTTv5
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=protocol,
            clean_session=None if v5 else True,
        )
        if self._endpoint.username:
            client.username_pw_set(self._endpoint.username, self._endpoint.password)
        if self._endpoint.tls:
            client.tls_set_context(self._endpoint.ssl_context())
        if self._will:
            client.will_set(self._will[0], self._will[1], qos=1, retain=True)
        client.max_queued_messages_set(0)  # our window bounds the queue, not paho's drops
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self._connack.clear()
        self._connack_reason = None
        self._closed_early = False
        try:
            client.connect(self._endpoint.host, self._endpoint.port, keepalive=self._keepalive)
        except OSError as exc:
            msg = f"cannot reach the broker at {self._endpoint.display()}: {exc}"
            raise PublisherError(msg) from exc
        client.loop_start()
        if not self._connack.wait(self._connect_timeout):
            client.loop_stop()
            msg = f"no CONNACK from {self._endpoint.display()} within {self._connect_timeout} s"
            raise PublisherError(msg)
        if self._connack_reason is not None:
            client.loop_stop()
            return self._connack_reason
        self._client = client
        return None

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self._connack.is_set():
            logger.info("reconnected to %s", self._endpoint.display())
            return
        self._connack_reason = reason if reason.is_failure else None
        self._connack.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if not self._connack.is_set():  # closed before CONNACK: e.g. a 3.1.1-only broker
            self._closed_early = True
            self._connack_reason = reason
            self._connack.set()
        elif reason.is_failure:
            logger.warning("lost the broker connection (%s); paho reconnects", reason)

    def send(self, message: Outgoing, on_ack: Callable[[Outgoing], None]) -> None:
        """Publish ``message`` with QoS 1; ``on_ack(message)`` runs when the PUBACK arrives.

        Raises:
            PublisherError: No room in the window for ``stall_timeout_s`` or paho refused.
        """
        client = self._client
        if client is None:
            msg = "publisher is not connected"
            raise PublisherError(msg)
        deadline = time.monotonic() + self._stall_timeout
        with self._room:
            while len(self._waiting) + self._sending >= self._max_inflight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._room.wait(remaining):
                    msg = f"no PUBACK from the broker for {self._stall_timeout} s"
                    raise PublisherError(msg)
            self._sending += 1
        # Never hold our lock around publish(): paho calls on_publish under its own lock.
        info = client.publish(message.topic, message.payload, qos=1, retain=message.retain)
        with self._room:
            self._sending -= 1
            if info.rc not in _QUEUED:
                self._room.notify_all()
                msg = f"publish to {message.topic} failed: {mqtt.error_string(info.rc)}"
                raise PublisherError(msg)
            early = self._early.pop(info.mid, None)
            if early is None:
                self._waiting[info.mid] = lambda: on_ack(message)
                return
            self._room.notify_all()
        self._settle(early, lambda: on_ack(message))

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason: ReasonCode,
        properties: Properties,
    ) -> None:
        with self._room:
            callback = self._waiting.pop(mid, None)
            if callback is None:  # PUBACK before publish() returned
                self._early[mid] = reason
                return
            self._room.notify_all()
        self._settle(reason, callback)

    def _settle(self, reason: ReasonCode, callback: Callable[[], None]) -> None:
        if reason.is_failure:  # MQTT v5 only: e.g. "Not authorized" from the ACL
            self.refused += 1
            logger.warning("broker refused a message: %s", reason)
            return
        callback()

    def drain(self, timeout_s: float) -> bool:
        """Wait until every message is acknowledged; return False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._room:
            while self._waiting or self._sending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._room.wait(remaining)
        return True

    @property
    def unacknowledged(self) -> int:
        """Messages still awaiting their PUBACK."""
        with self._room:
            return len(self._waiting) + self._sending

    def close(self) -> None:
        """Disconnect cleanly (the broker then discards the will) and stop paho's thread."""
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()


def read_credentials(path: Path) -> dict[str, str]:
    """Station secrets from ``path``: one ``ID:SECRET`` line each; blank and ``#`` lines skipped.

    Raises:
        PublisherError: The file cannot be read, or a line is not ``ID:SECRET`` (the message
            names the line, never the secret).
    """
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        msg = f"cannot read station credentials {path}: {exc.strerror}"
        raise PublisherError(msg) from exc
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        station, colon, secret = line.partition(":")
        if not colon or not station or not secret:
            msg = f"{path}, line {number}: expected ID:SECRET"
            raise PublisherError(msg)
        found[station] = secret
    return found


class StationPublishers:
    """One :class:`MqttPublisher` per station, each logged in as that station.

    Args:
        endpoint: The broker (its own user name and password are not used).
        secrets: Each station's secret, by station id.
        wills: Each station's will (its retained ``offline`` status).
        max_inflight: Most messages awaiting PUBACK, per station.
        connect_timeout_s: Seconds to wait for each CONNACK.
        stall_timeout_s: Seconds :meth:`send` may wait for room before giving up.
    """

    def __init__(
        self,
        endpoint: MqttEndpoint,
        secrets: Mapping[str, str],
        *,
        wills: Mapping[str, tuple[str, bytes]],
        max_inflight: int,
        connect_timeout_s: float = 10.0,
        stall_timeout_s: float = 60.0,
    ) -> None:
        self._publishers = {
            station: MqttPublisher(
                replace(endpoint, username=station, password=secret),
                client_id=station,
                max_inflight=max_inflight,
                will=wills.get(station),
                connect_timeout_s=connect_timeout_s,
                stall_timeout_s=stall_timeout_s,
            )
            for station, secret in secrets.items()
        }

    def __enter__(self) -> StationPublishers:
        try:
            for publisher in self._publishers.values():
                publisher.connect()
        except PublisherError:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def send(self, message: Outgoing, on_ack: Callable[[Outgoing], None]) -> None:
        """Publish ``message`` on its station's own connection.

        Raises:
            PublisherError: No credentials for that station, or its publisher failed.
        """
        publisher = self._publishers.get(message.station)
        if publisher is None:
            msg = f"no credentials for station {message.station}"
            raise PublisherError(msg)
        publisher.send(message, on_ack)

    def drain(self, timeout_s: float) -> bool:
        """Wait until every station's messages are acknowledged; return False on timeout."""
        deadline = time.monotonic() + timeout_s
        return all(
            publisher.drain(max(0.0, deadline - time.monotonic()))
            for publisher in self._publishers.values()
        )

    @property
    def unacknowledged(self) -> int:
        """Messages still awaiting their PUBACK, over all stations."""
        return sum(p.unacknowledged for p in self._publishers.values())

    @property
    def refused(self) -> int:
        """Messages the broker refused, over all stations."""
        return sum(p.refused for p in self._publishers.values())

    def close(self) -> None:
        """Disconnect every station cleanly."""
        for publisher in self._publishers.values():
            publisher.close()
